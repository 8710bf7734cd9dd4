#!/usr/bin/env bash
# Sourced (or run as `node.sh start|stop`): a real one-node Kubernetes 1.20 cluster on this
# machine, for tests that run pods. etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet, kube-proxy (iptables mode) and containerd 1.6 with runc and the CNI bridge plugin, all
# built or installed by tests/kube/build-apiserver.sh and tests/node/build-node.sh, all started
# here with configuration (node-config.sh), state and logs under one run directory
# ($SECUREQUEUE_NODE_DIR, default target/node). Nothing listens beyond loopback and the machine's
# own address; pods live in network namespaces on a private bridge, may reach only this machine
# (a FORWARD rule rejects the rest), resolve no names, and cannot pull images (containerd's proxy
# is a closed loopback port): load images with node_image_import.
#
# node_start  starts everything and returns once the node is Ready, the default service account
#             has its token and kube-proxy routes the `kubernetes` Service; on failure it prints
#             the failing component's log tail, stops what it started and returns 1 (it starts
#             nothing while another node runs here). Exports:
#   NODE_KUBECONFIG        admin (system:masters) kubeconfig;  NODE_KUBECTL  kubectl 1.20
#   NODE_ADDRESS           the machine's address: the API server, kubelet and host services that
#                          pods reach (a test's emulator, say) listen there
#   NODE_API_URL           https://$NODE_ADDRESS:port, also the service-account issuer; its
#                          discovery document and JWKS are readable without credentials. The
#                          API server accepts only tokens for that audience: pods may get
#                          projected tokens for any other (sts.amazonaws.com), as on EKS
#   NODE_CA                the CA of every certificate here
#   NODE_NAME, NODE_POD_CIDR, NODE_SERVICE_CIDR, NODE_DIR
#   NODE_CONTAINERD_SOCKET for `ctr -n k8s.io -a "$NODE_CONTAINERD_SOCKET" ...`
#   NODE_PAUSE_IMAGE, NODE_BUSYBOX_IMAGE  images already loaded (busybox has sh and wget)
# node_image_import FILE [CTR-IMPORT-OPTIONS...]  loads an image archive for the kubelet:
#             a docker-archive (named by its RepoTags) or an OCI archive whose ref name is a full
#             reference (registry/name:tag); for one whose ref name is only a tag, add
#             --base-name registry/name. Pods must use imagePullPolicy IfNotPresent or Never.
# node_stop   deletes the pods (so the CNI and containerd tear down their networks), stops every
#             process, then removes whatever is left (node-cleanup.sh): processes in the pods'
#             cgroups, shims, mounts under the run directory, network namespaces, the bridge,
#             KUBE-* chains and the CNI network's chains, the kubepods cgroups, the files kubelet
#             puts under /var/lib/kubelet and /var/log, and restores the sysctls kubelet,
#             kube-proxy and the CNI plugin change. Idempotent; safe in an EXIT trap; never
#             fails. `node.sh stop` does the same from any shell or checkout, after a kill too.
# Settings: SECUREQUEUE_NODE_DIR (run directory), SECUREQUEUE_NODE_NAME (default
# securequeue-node), SECUREQUEUE_NODE_ADDRESS (default: the address of the default route's
# interface). One node per machine: the bridge, the chains and the sysctls are the machine's.

NODE_NETWORK=securequeue-node
NODE_BRIDGE=sqnode0
NODE_POD_CIDR=10.244.0.0/24
NODE_SERVICE_CIDR=10.96.0.0/24
# Who ran the node last, so that `node.sh stop` in any checkout finds what to clean.
NODE_MARKER=/run/securequeue-node.dir
# node__start_all's exit status when it started nothing, because of another node on the machine.
NODE_REFUSED=3
# What kubelet (setupKernelTunables), kube-proxy (route_localnet) and the CNI bridge plugin
# (ip_forward) set, and what kube-proxy would set if its conntrack flags allowed it.
NODE_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
    kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward net.ipv4.conf.all.route_localnet
    net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_established
    net.netfilter.nf_conntrack_tcp_timeout_close_wait net.bridge.bridge-nf-call-iptables)
# Directories kubelet makes wherever its root directory is (its device-plugin socket, the pods'
# logs): removed if made during the run, else what was added to them.
NODE_KUBELET_DIRS=(/var/lib/kubelet /var/log/pods /var/log/containers)
# Directories containerd and the CNI library share with other users (podman): removed if made
# during the run and empty at the end.
NODE_SHARED_DIRS=(/run/netns /var/lib/cni/results /var/lib/cni /run/containerd/s /run/containerd)

# shellcheck source=tests/node/node-config.sh
source "$(dirname "${BASH_SOURCE[0]}")/node-config.sh"
# shellcheck source=tests/node/node-cleanup.sh
source "$(dirname "${BASH_SOURCE[0]}")/node-cleanup.sh"

node__root() { (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd); }
node__dir() { echo "${SECUREQUEUE_NODE_DIR:-$(node__root)/target/node}"; }

node__free_port() {
    python3 -c 'import socket, sys; s = socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$1"
}

# The IPv4 address of the interface the default route uses, else the first global one.
node__machine_address() {
    local dev address=""
    dev="$(ip -4 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')"
    if [ -n "$dev" ]; then
        address="$(ip -4 -o addr show dev "$dev" scope global | awk '{ split($4, a, "/"); print a[1]; exit }')"
    fi
    if [ -z "$address" ]; then
        address="$(ip -4 -o addr show scope global | awk '{ split($4, a, "/"); print a[1]; exit }')"
    fi
    [ -n "$address" ] || { echo "node.sh: this machine has no global IPv4 address" >&2; return 1; }
    echo "$address"
}

# --- processes: one pid file per component, "pid executable", so a stop never hits a reused pid.

# node__spawn NAME [--env VAR=VALUE]... EXECUTABLE ARGS...: starts a component in the background
# with an environment of its own, so that nothing of the caller's (AWS variables, proxies) changes
# what it does. Without EC2 metadata, kubelet's ECR credential provider does not look for an
# instance role at the link-local metadata address, which is not this machine.
node__spawn() {
    local name="$1" dir exe
    local environment=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME"
        AWS_EC2_METADATA_DISABLED=true)
    shift
    while [ "$1" = --env ]; do
        environment+=("$2")
        shift 2
    done
    exe="$1"
    shift
    dir="$(node__dir)"
    env -i "${environment[@]}" "$exe" "$@" >"$dir/logs/$name.log" 2>&1 &
    echo "$! $exe" >"$dir/pids/$name"
}

node__pid() {
    local file pid exe
    file="$(node__dir)/pids/$1"
    [ -f "$file" ] || return 1
    read -r pid exe <"$file"
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$exe")" ] || return 1
    echo "$pid"
}

node__alive() { node__pid "$1" >/dev/null; }

# node__kill NAME...: SIGTERM to each, SIGKILL to those still there after 10 s.
node__kill() {
    local name pid pids=()
    for name in "$@"; do
        if pid="$(node__pid "$name")"; then
            kill -TERM "$pid" 2>/dev/null
            pids+=("$pid")
        fi
        rm -f "$(node__dir)/pids/$name"
    done
    for _ in $(seq 1 100); do
        kill -0 "${pids[@]}" 2>/dev/null || break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
}

node__log_tail() {
    local log
    log="$(node__dir)/logs/$1.log"
    echo "---- last lines of $log" >&2
    tail -n "${2:-40}" "$log" >&2 2>/dev/null
}

# The first started component whose process is gone.
node__dead_component() {
    local file
    for file in "$(node__dir)"/pids/*; do
        [ -e "$file" ] || continue
        if ! node__alive "${file##*/}"; then
            echo "${file##*/}"
            return 0
        fi
    done
    return 1
}

# node__wait COMPONENT SECONDS DESCRIPTION COMMAND...: polls COMMAND; fails with the log tail of
# any component that died meanwhile, or of COMPONENT when the time is up.
node__wait() {
    local name="$1" seconds="$2" what="$3" deadline dead
    shift 3
    deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if dead="$(node__dead_component)"; then
            echo "node.sh: $dead exited while waiting for $what" >&2
            node__log_tail "$dead"
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "node.sh: no $what after ${seconds}s" >&2
            node__log_tail "$name"
            return 1
        fi
        sleep 1
    done
    echo "==> $what ($((SECONDS - NODE_STARTED))s)"
}

node__kubectl() { "$NODE_KUBECTL" --kubeconfig "$NODE_KUBECONFIG" "$@"; }

# --- components

node__start_etcd() {
    local dir="$1" client_port
    client_port="$(node__free_port 127.0.0.1)"
    node__spawn etcd "$(command -v etcd)" --data-dir "$dir/etcd" \
        --listen-client-urls "http://127.0.0.1:$client_port" --advertise-client-urls "http://127.0.0.1:$client_port" \
        --listen-peer-urls "http://127.0.0.1:$(node__free_port 127.0.0.1)"
    NODE_ETCD_URL="http://127.0.0.1:$client_port"
    node__wait etcd 60 "etcd healthy" python3 -c \
        'import sys, urllib.request; sys.exit(urllib.request.urlopen(sys.argv[1] + "/health", timeout=2).status != 200)' \
        "$NODE_ETCD_URL"
}

node__start_apiserver() {
    local dir="$1" bin="$2" port="$3"
    node__spawn kube-apiserver "$bin/kube-apiserver" --etcd-servers "$NODE_ETCD_URL" \
        --bind-address "$NODE_ADDRESS" --advertise-address "$NODE_ADDRESS" --secure-port "$port" --insecure-port 0 \
        --tls-cert-file "$dir/pki/apiserver.crt" --tls-private-key-file "$dir/pki/apiserver.key" \
        --client-ca-file "$dir/pki/ca.crt" --token-auth-file "$dir/pki/tokens.csv" \
        --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
        --service-cluster-ip-range "$NODE_SERVICE_CIDR" \
        --service-account-key-file "$dir/pki/sa.pub" --service-account-signing-key-file "$dir/pki/sa.key" \
        --service-account-issuer "$NODE_API_URL" --api-audiences "$NODE_API_URL" \
        --kubelet-client-certificate "$dir/pki/apiserver-kubelet-client.crt" \
        --kubelet-client-key "$dir/pki/apiserver-kubelet-client.key" \
        --kubelet-preferred-address-types InternalIP --profiling=false
    node__wait kube-apiserver 180 "kube-apiserver ready on $NODE_API_URL" node__kubectl get --raw /readyz
    # Anyone may read the issuer's discovery document and keys, as on EKS, where STS fetches them.
    node__kubectl create clusterrolebinding securequeue-node-issuer-discovery \
        --clusterrole system:service-account-issuer-discovery \
        --group system:unauthenticated --group system:authenticated >/dev/null
}

node__start_control_plane() {
    local dir="$1" bin="$2"
    node__spawn kube-controller-manager "$bin/kube-controller-manager" \
        --kubeconfig "$dir/controller-manager.kubeconfig" --leader-elect=false --port 0 --secure-port 0 \
        --use-service-account-credentials --service-account-private-key-file "$dir/pki/sa.key" \
        --root-ca-file "$dir/pki/ca.crt" --flex-volume-plugin-dir "$dir/kubelet/volume-plugins" \
        --cluster-signing-cert-file "$dir/pki/ca.crt" --cluster-signing-key-file "$dir/pki/ca.key"
    node__spawn kube-scheduler "$NODE_BIN/kube-scheduler" --kubeconfig "$dir/scheduler.kubeconfig" \
        --leader-elect=false --port 0 --secure-port 0
}

node__start_containerd() {
    local dir="$1"
    # Any pull goes to a closed loopback port rather than to a registry.
    node__spawn containerd --env HTTP_PROXY=http://127.0.0.1:9 --env HTTPS_PROXY=http://127.0.0.1:9 \
        "$(command -v containerd)" --config "$dir/containerd/config.toml"
    node__wait containerd 60 "containerd serving" ctr -a "$NODE_CONTAINERD_SOCKET" version
    node_image_import "$NODE_CACHE/images/pause.tar" >/dev/null
    node_image_import "$NODE_CACHE/images/busybox.tar" >/dev/null
}

node__start_kubelet() {
    local dir="$1" port healthz_port
    port="$(node__free_port "$NODE_ADDRESS")"
    healthz_port="$(node__free_port 127.0.0.1)"
    node__kubelet_config "$dir" "$port" "$healthz_port"
    node__spawn kubelet "$NODE_BIN/kubelet" --config "$dir/kubelet/config.yaml" \
        --kubeconfig "$dir/kubelet.kubeconfig" --root-dir "$dir/kubelet/root" --cert-dir "$dir/kubelet/pki" \
        --container-runtime remote --container-runtime-endpoint "unix://$NODE_CONTAINERD_SOCKET" \
        --hostname-override "$NODE_NAME" --node-ip "$NODE_ADDRESS"
    node__wait kubelet 120 "node $NODE_NAME registered" node__kubectl get node "$NODE_NAME"
    node__wait kubelet 120 "node $NODE_NAME Ready" \
        node__kubectl wait --for condition=Ready --timeout 2s node "$NODE_NAME"
}

node__start_proxy() {
    local dir="$1"
    node__spawn kube-proxy "$NODE_BIN/kube-proxy" --kubeconfig "$dir/kube-proxy.kubeconfig" \
        --hostname-override "$NODE_NAME" --proxy-mode iptables --cluster-cidr "$NODE_POD_CIDR" \
        --nodeport-addresses "127.0.0.0/8,$NODE_ADDRESS/32" \
        --healthz-bind-address "127.0.0.1:$(node__free_port 127.0.0.1)" \
        --metrics-bind-address "127.0.0.1:$(node__free_port 127.0.0.1)" \
        --conntrack-max-per-core 0 --conntrack-tcp-timeout-established 0 \
        --conntrack-tcp-timeout-close-wait 0 --oom-score-adj 0
    node__wait kube-proxy 60 "kube-proxy routing the kubernetes Service" node__proxy_routes_apiserver
}

node__proxy_routes_apiserver() {
    iptables -w -t nat -S KUBE-SERVICES | grep -q 'default/kubernetes:https'
}

node__default_service_account_ready() {
    [ -n "$(node__kubectl get serviceaccount default -o 'jsonpath={.secrets[0].name}')" ] &&
        node__kubectl get configmap kube-root-ca.crt
}

# Pods may reach this machine only: nothing from the pod network is forwarded off the bridge.
# node__guard -I adds the rule, node__guard -D deletes it.
node__guard() {
    iptables -w "$1" FORWARD -s "$NODE_POD_CIDR" ! -o "$NODE_BRIDGE" \
        -m comment --comment "$NODE_NETWORK: pods reach only this machine" -j REJECT
}

# A node left behind by a run that was killed is cleaned up; a running one is not touched.
node__preflight() {
    local name
    if [ -f "$NODE_MARKER" ]; then
        for name in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy; do
            if SECUREQUEUE_NODE_DIR="$(cat "$NODE_MARKER")" node__alive "$name"; then
                echo "node.sh: the node of $(cat "$NODE_MARKER") is running; stop it first (tests/node/node.sh stop)" >&2
                return 1
            fi
        done
        echo "==> cleaning up after the node of $(cat "$NODE_MARKER"), which was not stopped"
        node_stop
    fi
    if ip link show "$NODE_BRIDGE" >/dev/null 2>&1 ||
        iptables -w -t filter -S KUBE-KUBELET-CANARY >/dev/null 2>&1; then
        echo "node.sh: bridge $NODE_BRIDGE or kubelet's chains exist: another Kubernetes node runs here" >&2
        return 1
    fi
    if ip -4 route show | grep -q "^${NODE_POD_CIDR%/*}"; then
        echo "node.sh: the pod network $NODE_POD_CIDR is already routed on this machine" >&2
        return 1
    fi
}

# Sets and exports the NODE_* variables of the node in $NODE_DIR, and writes them to
# $NODE_DIR/node.env, from which node_start's caller and node_stop read them.
node__variables() {
    NODE_DIR="$(node__dir)"
    NODE_NAME="${SECUREQUEUE_NODE_NAME:-securequeue-node}"
    NODE_KUBECONFIG="$NODE_DIR/admin.kubeconfig"
    NODE_CA="$NODE_DIR/pki/ca.crt"
    NODE_CONTAINERD_SOCKET="$NODE_DIR/containerd/containerd.sock"
    NODE_KUBECTL="$NODE_BIN/kubectl"
    NODE_PAUSE_IMAGE="$(cat "$NODE_CACHE/images/pause.name")"
    NODE_BUSYBOX_IMAGE="$(cat "$NODE_CACHE/images/busybox.name")"
    export NODE_DIR NODE_NAME NODE_POD_CIDR NODE_SERVICE_CIDR NODE_KUBECONFIG NODE_CA \
        NODE_CONTAINERD_SOCKET NODE_KUBECTL NODE_PAUSE_IMAGE NODE_BUSYBOX_IMAGE NODE_ADDRESS NODE_API_URL
}

node__write_env() {
    local name
    for name in NODE_DIR NODE_NAME NODE_POD_CIDR NODE_SERVICE_CIDR NODE_KUBECONFIG NODE_CA \
        NODE_CONTAINERD_SOCKET NODE_KUBECTL NODE_PAUSE_IMAGE NODE_BUSYBOX_IMAGE NODE_ADDRESS NODE_API_URL; do
        printf 'export %s=%q\n' "$name" "${!name}"
    done >"$NODE_DIR/node.env"
}

node__start_all() {
    local root dir api_port user dead
    NODE_STARTED=$SECONDS
    root="$(node__root)"
    # Every Kubernetes binary comes from the one 1.20 build; the node cache holds its images.
    NODE_BIN="$("$root/tests/kube/build-apiserver.sh")/bin"
    NODE_CACHE="$("$root/tests/node/build-node.sh")"
    NODE_ADDRESS="${SECUREQUEUE_NODE_ADDRESS:-$(node__machine_address)}"
    api_port="$(node__free_port "$NODE_ADDRESS")"
    NODE_API_URL="https://$NODE_ADDRESS:$api_port"
    node__variables
    node__preflight || exit "$NODE_REFUSED"
    dir="$NODE_DIR"
    rm -rf --one-file-system "$dir"
    mkdir -p "$dir"/{pki,logs,pids,containerd,cni/net.d,cni/ipam,kubelet/root,kubelet/volume-plugins}
    node__write_env
    echo "$dir" >"$NODE_MARKER"
    node__record_machine "$dir"
    node__guard -I

    node__certificates "$dir" "$NODE_ADDRESS"
    node__tokens "$dir"
    for user in admin kubelet kube-proxy controller-manager scheduler; do
        node__kubeconfig "$dir" "$user"
    done
    node__containerd_config "$dir"
    node__cni_config "$dir"

    node__start_etcd "$dir"
    node__start_apiserver "$dir" "$NODE_BIN" "$api_port"
    node__start_control_plane "$dir" "$NODE_BIN"
    node__start_containerd "$dir"
    node__start_kubelet "$dir"
    node__start_proxy "$dir"
    node__wait kube-controller-manager 60 "default service account with its token" \
        node__default_service_account_ready
    if dead="$(node__dead_component)"; then
        echo "node.sh: $dead exited" >&2
        node__log_tail "$dead"
        return 1
    fi
    echo "==> node $NODE_NAME Ready in $((SECONDS - NODE_STARTED))s: NODE_KUBECONFIG=$NODE_KUBECONFIG, API $NODE_API_URL"
}

node_start() {
    # In a bash of its own: errexit must hold in every step, and in a function called from an
    # `if` or `||` (as here, or by a caller) bash ignores it, even when set again inside. The
    # variables come back through node.env.
    local status=0
    bash -c 'set -euo pipefail; shopt -s inherit_errexit; source "$1"; node__start_all' \
        node.sh "${BASH_SOURCE[0]}" || status=$?
    case "$status" in
        0)
            # shellcheck source=/dev/null
            source "$(node__dir)/node.env"
            ;;
        "$NODE_REFUSED") return 1 ;;
        *)
            echo "node.sh: the node did not come up (logs: $(node__dir)/logs); stopping what started" >&2
            node_stop
            return 1
            ;;
    esac
}

node_image_import() {
    ctr -n k8s.io -a "$NODE_CONTAINERD_SOCKET" images import "${@:2}" "$1"
}

# --- stop

node__stop_all() {
    local dir
    dir="$(cat "$NODE_MARKER" 2>/dev/null)" || return 0
    export SECUREQUEUE_NODE_DIR="$dir"
    NODE_CONTAINERD_SOCKET="$dir/containerd/containerd.sock"
    if [ -f "$dir/node.env" ]; then
        # shellcheck source=/dev/null
        source "$dir/node.env"
    else
        echo "node.sh: $dir/node.env is missing; cleaning up with what is left of $dir" >&2
    fi

    node__kill kube-controller-manager kube-scheduler
    node__delete_pods
    node__kill kubelet kube-proxy
    node__delete_containers
    node__kill_leftover_processes
    node__kill containerd kube-apiserver
    node__kill etcd

    node__unmount_run_dir "$dir"
    node__remove_cgroups
    node__remove_network "$dir"
    python3 "$(node__root)/tests/node/iptables-sweep.py" --network "$NODE_NETWORK" --delete >/dev/null
    while node__guard -D 2>/dev/null; do :; done
    node__restore_sysctls "$dir"
    node__restore_host_dirs "$dir"
    # The logs and configuration stay for a look afterwards; images, layers and pods' files go.
    rm -rf --one-file-system "$dir/containerd" "$dir/kubelet/root" "$dir/kubelet/pki" "$dir/etcd" "$dir/cni/ipam"
    rm -f "$NODE_MARKER"
}

node_stop() {
    (set +e && node__stop_all)
    return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
        start) node_start ;;
        stop) node_stop ;;
        *) echo "usage: $0 start|stop" >&2; exit 2 ;;
    esac
fi
