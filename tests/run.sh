#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints, the crate's docs, the CRD drift check and all
# tests. The AWS integration tests run against the moto emulator, which this script installs
# (into target/) and starts on loopback; the end-to-end tests against the cluster KUBECONFIG names, or else two
# API servers built once from Debian's packages and cached in ~/.cache/securequeue: a full
# kube-apiserver 1.20 (tests/kube/build-apiserver.sh; Events, Leases, RBAC, namespaces, helm) and
# a v1.36 server of custom resources (tests/kube/build-apiserver-1.36.sh; CEL, server-side apply,
# streaming lists), run at each supported minor. The operator image is built from the Dockerfile
# with podman on stand-in base images made from Debian's archive, and checked (tests/image/).
# Last, the node tier: that image on a one-node cluster (kubelet, containerd), installed with the
# chart and used as in production (tests/node/e2e.sh). Nothing reaches the internet but the
# package downloads.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --all-targets --locked -- -D warnings
cargo clippy --lib --bins --locked -- -D warnings                    # the operator alone, no test hooks
cargo clippy --all-targets --all-features --locked -- -D warnings    # with the benches

echo "== cargo doc (warnings are errors)"
# The architecture is in the crate's docs (src/lib.rs): a broken or private intra-doc link fails.
# All features, so that the feature-gated modules' docs are checked too.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked --all-features

echo "== no dead links in README.md, docs/ and the chart's README"
python3 tests/docs/check_links.py

echo "== crds/ is exactly what the code generates"
for kind in SecureQueue SecureQueueAccount; do
  file="crds/securequeue.io_$(echo "$kind" | tr '[:upper:]' '[:lower:]')s.yaml"
  cargo run --quiet --locked -- crd "$kind" | diff -u "$file" - \
    || { echo "crds/ is stale: run 'cargo run -- crd $kind > $file'" >&2; exit 1; }
done

echo "== the operator's IAM policy contains it: the containment table, for the probe and every example"
for prefixes in "" "--queue-name-prefix team- --key-alias-prefix alias/team-a/"; do
  # shellcheck disable=SC2086
  cargo run --quiet --locked -- verify --operator --account-id 111122223333 \
    --operator-role-arn arn:aws:iam::111122223333:role/securequeue-operator $prefixes | tail -n 1
done
# A bound account's target role (a SecureQueueAccount's roleArn): the same containment there.
cargo run --quiet --locked -- verify --operator --account-id 222233334444 \
  --operator-role-arn arn:aws:iam::222233334444:role/securequeue-target | tail -n 1
# The chart's default alias prefix, with every example.
examples=()
for example in deploy/examples/*.yaml; do examples+=(-f "$example"); done
cargo run --quiet --locked -- verify --operator "${examples[@]}" --account-id 111122223333 \
  --operator-role-arn arn:aws:iam::111122223333:role/securequeue-operator \
  --key-alias-prefix alias/securequeue/ | grep '^containment:'

source tests/tools.sh
tools_install
# tests/rbac.rs renders the chart with it.
export SECUREQUEUE_HELM="$HELM"

echo "== hadolint Dockerfile"
"$HADOLINT" Dockerfile

echo "== the operator image: built from the Dockerfile by podman on stand-in base images, in the background"
# Cached in ~/.cache/securequeue/image: the stand-ins, the layers and the crates (tests/image/).
# At low priority beside the tests, much of which wait on the emulator and the API servers;
# checked after them.
image_log="target/image-build.log"
mkdir -p target
# In a session of its own, so that a run that stops early stops podman with it.
setsid nice -n 10 tests/image/build-image.sh >"$image_log" 2>&1 &
image_build=$!

echo "== the Kubernetes binaries: built once from Debian's sources into ~/.cache/securequeue, in the background"
# Cold, these Go builds take about as long as the Rust builds: started now, they run beside them
# instead of after them. Each build script holds a lock on its cache, so the tests' own calls
# (cluster_start, cluster136_start, node_start) wait for the build under way; warm, all three
# return at once. Not needed where KUBECONFIG names a cluster.
kube_log="target/kube-build.log"
if [ -z "${KUBECONFIG:-}" ]; then
  setsid bash -c 'tests/kube/build-apiserver.sh && tests/kube/build-apiserver-1.36.sh && tests/node/build-node.sh' \
    >"$kube_log" 2>&1 &
  kube_build=$!
else
  kube_build=""
fi
stop_background_builds() {
  kill -- "-$image_build" 2>/dev/null || true
  [ -z "$kube_build" ] || kill -- "-$kube_build" 2>/dev/null || true
}
trap stop_background_builds EXIT

echo "== cargo deny: licences, banned and duplicated crates, crate sources (deny.toml)"
cargo_deny_install
"$CARGO_DENY" --locked check --hide-inclusion-graph licenses bans sources
# Advisories need the RustSec database, which cargo deny clones with git: where it cannot be
# fetched (machines that reach only package registries), say so rather than pass in silence.
if timeout 120 "$CARGO_DENY" fetch db >/dev/null 2>&1; then
  "$CARGO_DENY" --locked check --hide-inclusion-graph advisories
else
  echo "==> cargo deny advisories: NOT CHECKED, the RustSec advisory database cannot be fetched from this machine"
fi

echo "== the chart's and deploy/kubernetes' CRD and manifests are the generated ones; helm lint --strict and helm template"
for crd in securequeue.io_securequeues.yaml securequeue.io_securequeueaccounts.yaml; do
  diff -u "crds/$crd" "charts/securequeue/crds/$crd" \
    || { echo "charts/securequeue/crds/ is stale: copy crds/$crd" >&2; exit 1; }
  diff -u "crds/$crd" "deploy/kubernetes/$crd" \
    || { echo "deploy/kubernetes/ has a stale CRD: copy crds/$crd" >&2; exit 1; }
done
"$HELM" template securequeue charts/securequeue --namespace securequeue-system \
  | diff -u deploy/kubernetes/operator.yaml - \
  || { echo "deploy/kubernetes/operator.yaml is stale: regenerate it with helm template (see its kustomization.yaml)" >&2; exit 1; }
for values in "" "-f charts/securequeue/ci/all-options-values.yaml"; do
  # shellcheck disable=SC2086
  "$HELM" lint --strict charts/securequeue $values
  # shellcheck disable=SC2086
  "$HELM" template securequeue charts/securequeue $values >/dev/null
done

echo "== the chart's README lists every value, as tests/chart/values_doc.py generates it"
chart_readme="$("$TOOLS_PYTHON" tests/chart/values_doc.py)"
diff -u charts/securequeue/README.md <(printf '%s\n' "$chart_readme") \
  || { echo "charts/securequeue/README.md is stale: run '$TOOLS_PYTHON tests/chart/values_doc.py > charts/securequeue/README.md'" >&2; exit 1; }

echo "== the Argo CD health check, in Lua"
"$TOOLS_PYTHON" tests/gitops/test_argocd_health.py

echo "== cargo test (against the moto AWS emulator and Kubernetes API servers on loopback)"
cargo build --locked --all-targets
source tests/emulator/emulator.sh
source tests/kube/cluster.sh
source tests/kube/cluster-1.36.sh
trap 'stop_background_builds; emulator_stop; cluster_stop; cluster136_stop' EXIT
emulator_start
given_cluster="${KUBECONFIG:-}"
if [ -n "$kube_build" ]; then
  wait "$kube_build" || { cat "$kube_log" >&2; echo "building the Kubernetes binaries failed" >&2; exit 1; }
fi
cluster_start
if [ -n "$given_cluster" ]; then
    # That cluster enforces the CRD's CEL rules if it is 1.25 or newer, as users' clusters are.
    echo "==> KUBECONFIG names a cluster: the v1.36 test server is not started; the CRD and modern-server tests run on that cluster"
    export SECUREQUEUE_CRD_SERVERS="cluster=$KUBECONFIG" SECUREQUEUE_KUBECTL="${SECUREQUEUE_KUBECTL:-kubectl}"
else
    # The CRD's rules on a real server at every supported minor: 1.36 emulating the older ones.
    for minor in 1.33 1.34 1.35; do
        SECUREQUEUE_KUBE136_EMULATED_VERSION="$minor" cluster136_start
        SECUREQUEUE_CRD_SERVERS="$minor=$SECUREQUEUE_KUBECONFIG_136" SECUREQUEUE_KUBECTL="$SECUREQUEUE_KUBECTL_136" \
            cargo test --locked --test crd_server
    done
    cluster136_start
    export SECUREQUEUE_CRD_SERVERS="1.36=$SECUREQUEUE_KUBECONFIG_136" SECUREQUEUE_KUBECTL="$SECUREQUEUE_KUBECTL_136"
fi
cargo test --locked --all-targets

echo "== the operator image: its build, and what it must be"
wait "$image_build" || { cat "$image_log" >&2; echo "the image build failed" >&2; exit 1; }
tail -n 1 "$image_log"
tests/image/check-image.sh

echo "== helm install on the test cluster"
"$HELM" install securequeue charts/securequeue --namespace securequeue-system --create-namespace \
  --set aws.region=us-east-1 --wait=false
"$HELM" get manifest securequeue --namespace securequeue-system | grep -c "^kind:"
"$HELM" uninstall securequeue --namespace securequeue-system

echo "== the node tier: the operator image on a real kubelet, installed with the chart (tests/node/e2e.sh)"
# On a one-node cluster of its own, or on the cluster KUBECONFIG named when this script began
# (then SECUREQUEUE_IMAGE and SECUREQUEUE_EMULATOR_HOST name the image and this machine's address
# for its pods; see tests/node/e2e.sh).
KUBECONFIG="$given_cluster" tests/node/e2e.sh
