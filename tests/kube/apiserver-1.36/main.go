// Command kube-apiextensions-apiserver is the stock k8s.io/apiextensions-apiserver 1.36 (Debian's
// golang-k8s-apiextensions-apiserver-dev), made usable on its own by kubectl and other clients
// for securequeue's tests. Built by tests/kube/build-apiserver-1.36.sh and started by
// tests/kube/cluster-1.36.sh.
//
// Upstream only ever runs this server behind kube-apiserver's aggregator, which serves /apis and
// /api, so the stock binary serves neither; and it publishes no OpenAPI for CRDs because nothing
// sets an OpenAPI v2 config. This main is upstream's main.go and server.Run plus exactly that:
// the OpenAPI config upstream's own test server sets (pkg/cmd/server/testing/testserver.go), an
// /apis list (aggregated, as kubectl asks for, and the older APIGroupList) and an empty /api,
// since this server has no core group.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/spf13/cobra"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	"k8s.io/apiextensions-apiserver/pkg/apiserver"
	"k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	generatedopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apiserver/pkg/endpoints/discovery"
	"k8s.io/apiserver/pkg/endpoints/discovery/aggregated"
	"k8s.io/apiserver/pkg/endpoints/handlers/negotiation"
	"k8s.io/apiserver/pkg/endpoints/handlers/responsewriters"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/util/openapi"
	"k8s.io/component-base/cli"
)

func main() {
	// The same command as upstream's server.NewServerCommand, whose Run cannot be amended.
	o := options.NewCustomResourceDefinitionsServerOptions(os.Stdout, os.Stderr)
	cmd := &cobra.Command{
		Use:   "kube-apiextensions-apiserver",
		Short: "Serve CustomResourceDefinitions and custom resources, with discovery and OpenAPI",
		PersistentPreRunE: func(*cobra.Command, []string) error {
			// Applies --emulated-version and --feature-gates.
			return o.ServerRunOptions.ComponentGlobalsRegistry.Set()
		},
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return run(c.Context(), o)
		},
	}
	cmd.SetContext(genericapiserver.SetupSignalContext())
	o.AddFlags(cmd.Flags())
	os.Exit(cli.Run(cmd))
}

func run(ctx context.Context, o *options.CustomResourceDefinitionsServerOptions) error {
	config, err := o.Config()
	if err != nil {
		return err
	}
	// Without a v2 config the server has no static OpenAPI spec, and then it runs neither CRD
	// OpenAPI controller (v2 or v3): /openapi/v3 would lack every CRD, so kubectl could neither
	// validate nor explain custom resources.
	config.GenericConfig.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(
		openapi.GetOpenAPIDefinitionsWithoutDisabledFeatures(generatedopenapi.GetOpenAPIDefinitions),
		openapinamer.NewDefinitionNamer(apiserver.Scheme))

	completed := config.Complete()
	server, err := completed.New(genericapiserver.NewEmptyDelegate())
	if err != nil {
		return err
	}
	installRootDiscovery(server.GenericAPIServer, completed.GenericConfig.DiscoveryAddresses)
	return server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}

// installRootDiscovery serves /apis and /api the way kube-apiserver's generic server does when
// discovery is enabled (apiextensions turns it off for the aggregator's sake).
func installRootDiscovery(s *genericapiserver.GenericAPIServer, addresses discovery.Addresses) {
	// The aggregated manager already holds apiextensions.k8s.io and, kept current by the
	// server's discovery controller, every established CRD's group.
	groups := s.AggregatedDiscoveryGroupManager
	apis := aggregated.WrapAggregatedDiscoveryToHandler(groupList{groups, addresses, s.Serializer}, groups, nil)
	s.Handler.GoRestfulContainer.Add(apis.GenerateWebService("/apis", metav1.APIGroupList{}))

	core := aggregated.WrapAggregatedDiscoveryToHandler(noVersions{addresses, s.Serializer}, s.AggregatedLegacyDiscoveryGroupManager, nil)
	s.Handler.GoRestfulContainer.Add(core.GenerateWebService("/api", metav1.APIVersions{}))
}

// groupList serves the unaggregated APIGroupList, derived on each request from the aggregated
// document so that the two never disagree.
type groupList struct {
	groups     http.Handler
	addresses  discovery.Addresses
	serializer runtime.NegotiatedSerializer
}

func (l groupList) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	probe, err := http.NewRequestWithContext(req.Context(), http.MethodGet, "/apis", nil)
	if err != nil {
		responsewriters.InternalError(w, req, err)
		return
	}
	probe.Header.Set("Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
	recorder := httptest.NewRecorder()
	l.groups.ServeHTTP(recorder, probe)
	var document apidiscoveryv2.APIGroupDiscoveryList
	if err := json.Unmarshal(recorder.Body.Bytes(), &document); err != nil {
		responsewriters.InternalError(w, req, fmt.Errorf("reading the aggregated discovery document: %w", err))
		return
	}

	// Upstream's own handler, so that encoding and content negotiation are the usual ones.
	root := discovery.NewRootAPIsHandler(l.addresses, l.serializer)
	for _, g := range document.Items {
		group := metav1.APIGroup{Name: g.Name}
		// Versions come sorted by priority: the first one is the preferred one.
		for _, v := range g.Versions {
			group.Versions = append(group.Versions, metav1.GroupVersionForDiscovery{
				GroupVersion: schema.GroupVersion{Group: g.Name, Version: v.Version}.String(),
				Version:      v.Version,
			})
		}
		if len(group.Versions) > 0 {
			group.PreferredVersion = group.Versions[0]
			root.AddGroup(group)
		}
	}
	root.ServeHTTP(w, req)
}

// noVersions serves /api with no versions: some clients (kube-rs's Discovery among them) fail
// on a 404 there, where client-go tolerates one.
type noVersions struct {
	addresses  discovery.Addresses
	serializer runtime.NegotiatedSerializer
}

func (n noVersions) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	versions := &metav1.APIVersions{
		Versions:                   []string{},
		ServerAddressByClientCIDRs: n.addresses.ServerAddressByClientCIDRs(utilnet.GetClientIP(req)),
	}
	responsewriters.WriteObjectNegotiated(n.serializer, negotiation.DefaultEndpointRestrictions,
		schema.GroupVersion{}, w, req, http.StatusOK, versions, false)
}
