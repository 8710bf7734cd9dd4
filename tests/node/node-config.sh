# shellcheck shell=bash
# Sourced by tests/node/node.sh: the node's configuration files, all under its run directory:
# a CA and the certificates signed by it, one token per component, kubeconfigs, containerd's
# config, the CNI network and kubelet's config. Reads the NODE_* variables node.sh sets.

node__certificates() {
    local dir="$1" address="$2"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=securequeue-node-ca" \
        -keyout "$dir/pki/ca.key" -out "$dir/pki/ca.crt" 2>/dev/null
    node__certificate "$dir" apiserver "/CN=kube-apiserver" \
        "subjectAltName=IP:$address,IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    # The API server's identity towards kubelets (logs, exec, port-forward).
    node__certificate "$dir" apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" \
        "extendedKeyUsage=clientAuth"
    openssl genrsa -out "$dir/pki/sa.key" 2048 2>/dev/null
    openssl rsa -in "$dir/pki/sa.key" -pubout -out "$dir/pki/sa.pub" 2>/dev/null
}

node__certificate() {
    local dir="$1" name="$2" subject="$3" extension="$4"
    openssl req -newkey rsa:2048 -nodes -subj "$subject" \
        -keyout "$dir/pki/$name.key" -out "$dir/pki/$name.csr" 2>/dev/null
    printf '%s\n' "$extension" >"$dir/pki/$name.ext"
    openssl x509 -req -in "$dir/pki/$name.csr" -CA "$dir/pki/ca.crt" -CAkey "$dir/pki/ca.key" \
        -CAcreateserial -days 2 -extfile "$dir/pki/$name.ext" -out "$dir/pki/$name.crt" 2>/dev/null
}

# One token per component: user,uid,groups as the Node and RBAC authorizers expect them.
node__tokens() {
    local dir="$1" user
    for user in admin kubelet kube-proxy controller-manager scheduler; do
        python3 -c 'import secrets; print(secrets.token_hex(16))' >"$dir/pki/$user.token"
    done
    {
        echo "$(cat "$dir/pki/admin.token"),admin,admin,\"system:masters\""
        echo "$(cat "$dir/pki/kubelet.token"),system:node:$NODE_NAME,kubelet,\"system:nodes\""
        echo "$(cat "$dir/pki/kube-proxy.token"),system:kube-proxy,kube-proxy"
        echo "$(cat "$dir/pki/controller-manager.token"),system:kube-controller-manager,controller-manager"
        echo "$(cat "$dir/pki/scheduler.token"),system:kube-scheduler,scheduler"
    } >"$dir/pki/tokens.csv"
}

node__kubeconfig() {
    local dir="$1" user="$2"
    cat >"$dir/$user.kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: node
  cluster: {server: "$NODE_API_URL", certificate-authority: "$dir/pki/ca.crt"}
users:
- name: $user
  user: {token: "$(cat "$dir/pki/$user.token")"}
contexts:
- name: node
  context: {cluster: node, user: $user, namespace: default}
current-context: node
KUBECONFIG
}

node__containerd_config() {
    local dir="$1"
    cat >"$dir/containerd/config.toml" <<TOML
# The node's own containerd: root, state, sockets and runc's state under the run directory.
version = 2
root = "$dir/containerd/root"
state = "$dir/containerd/state"
[grpc]
  address = "$NODE_CONTAINERD_SOCKET"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$NODE_PAUSE_IMAGE"
  # Root here lacks CAP_SYS_RESOURCE: a sandbox's oom_score_adj of -998 would fail.
  restrict_oom_score_adj = true
  # No hugetlb cgroup is mounted on these machines.
  disable_hugetlb_controller = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$dir/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni/net.d"
    max_conf_num = 1
TOML
}

node__cni_config() {
    local dir="$1"
    cat >"$dir/cni/net.d/10-$NODE_NETWORK.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "$NODE_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$dir/cni/ipam",
        "ranges": [[{"subnet": "$NODE_POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
JSON
}

node__kubelet_config() {
    local dir="$1" port="$2" healthz_port="$3"
    # Pods resolve no names: their nameserver is their own loopback.
    echo "nameserver 127.0.0.1" >"$dir/kubelet/resolv.conf"
    cat >"$dir/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: "$NODE_ADDRESS"
port: $port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $healthz_port
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$dir/pki/ca.crt"}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
failSwapOn: false
oomScoreAdj: 0
resolvConf: "$dir/kubelet/resolv.conf"
volumePluginDir: "$dir/kubelet/volume-plugins"
# The machine's disk is shared and often more than 85% used: no evictions, no image GC (the
# imported images cannot be pulled again).
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
YAML
}
