#!/usr/bin/env bash
# Proves the one-node cluster of tests/node/node.sh, on its own (`tests/node/smoke.sh`, as root):
# the node is Ready; a pod the scheduler places starts from the busybox image and becomes Ready
# only once the API server has answered it through the `kubernetes` Service's ClusterIP with its
# service-account token (a bogus token gets 401, so the answer means the token was checked), and
# reaches a server on the machine's address, as the end-to-end suite's AWS emulator will be;
# its projected token for audience sts.amazonaws.com is a JWT with that audience and the node's
# issuer, signed by the key the issuer's public JWKS lists, and not accepted by the API server;
# an image that is not loaded is not pulled from anywhere. Then node_stop, and nothing of the node
# may be left: processes, mounts, network namespaces, bridge, chains, cgroups, sysctls, files.
# Then the same once more after the node was started again and every process of it SIGKILLed, as
# when a test run is killed: `node.sh stop` must clean up from the run directory alone.
# Ends with "node smoke: N passed, M failed"; exits 1 if anything failed.
set -euo pipefail
shopt -s inherit_errexit

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/node/node.sh
source "$here/node.sh"

passed=0
failed=0
check() {
    local name="$1"
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
    fi
}

kubectl_() { "$NODE_KUBECTL" --kubeconfig "$NODE_KUBECONFIG" "$@"; }
in_probe() { kubectl_ -n node-smoke exec probe -- /bin/busybox "$@"; }

# --- the machine before, to compare with after node_stop

snapshot() {
    local out="$1"
    mkdir -p "$out"
    sysctl -a >"$out/sysctls" 2>/dev/null || true
    ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ { print $1 }' | sort >"$out/netns"
    ls -d "${NODE_KUBELET_DIRS[@]}" /run/containerd /usr/libexec/kubernetes 2>/dev/null >"$out/dirs" || true
    ls -d /var/lib/cni/results/{"$NODE_NETWORK",cni-loopback}-* 2>/dev/null >"$out/cni-results" || true
}

# --- the pod

probe_manifest() {
    sed "s|@IMAGE@|$NODE_BUSYBOX_IMAGE|" <<'YAML'
apiVersion: v1
kind: ServiceAccount
metadata: {name: probe, namespace: node-smoke}
---
apiVersion: v1
kind: Pod
metadata: {name: probe, namespace: node-smoke}
spec:
  serviceAccountName: probe
  terminationGracePeriodSeconds: 1
  containers:
  - name: probe
    image: "@IMAGE@"
    imagePullPolicy: Never
    command: [/bin/busybox, sh, -c]
    args:
    - |
      token="$(busybox cat /var/run/secrets/kubernetes.io/serviceaccount/token)"
      url="https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api"
      until busybox wget -q -O /tmp/api.json --header "Authorization: Bearer $token" "$url"; do busybox sleep 1; done
      exec busybox sleep 3600
    readinessProbe:
      exec: {command: [/bin/busybox, test, -s, /tmp/api.json]}
      periodSeconds: 1
    volumeMounts:
    - {name: aws-token, mountPath: /var/run/secrets/eks.amazonaws.com/serviceaccount, readOnly: true}
  volumes:
  - name: aws-token
    projected:
      sources:
      - serviceAccountToken: {audience: sts.amazonaws.com, expirationSeconds: 3600, path: token}
YAML
}

unpullable_manifest() {
    cat <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: unpullable, namespace: node-smoke}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: none, image: "registry.example.invalid/none:1", imagePullPolicy: Always}
YAML
}

node_is_ready() {
    [ "$(kubectl_ get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ] &&
        [ "$(kubectl_ get node "$NODE_NAME" -o 'jsonpath={.status.nodeInfo.kubeletVersion}')" = v1.20.2 ]
}

probe_is_ready() {
    kubectl_ -n node-smoke wait --for condition=Ready --timeout 120s pod/probe >/dev/null &&
        [ "$(kubectl_ -n node-smoke get pod probe -o 'jsonpath={.spec.nodeName} {.status.phase}')" = "$NODE_NAME Running" ]
}

# The pod's requests go to the ClusterIP of the `kubernetes` Service, which kube-proxy sends on to
# this machine's API server, which says so in its answer.
api_answered_through_cluster_ip() {
    local cluster_ip answer
    cluster_ip="$(kubectl_ get service kubernetes -o 'jsonpath={.spec.clusterIP}')"
    # shellcheck disable=SC2016 # expanded by the pod's shell
    [ "$(in_probe sh -c 'echo "$KUBERNETES_SERVICE_HOST"')" = "$cluster_ip" ] || return 1
    answer="$(in_probe cat /tmp/api.json)"
    python3 - "$answer" "${NODE_API_URL#https://}" <<'PY'
import json, sys
answer, address = json.loads(sys.argv[1]), sys.argv[2]
assert answer["kind"] == "APIVersions", answer
assert answer["serverAddressByClientCIDRs"][0]["serverAddress"] == address, answer
PY
}

# Run inside the pod: the status line busybox wget reports for a request with this token.
status_for_token() {
    # shellcheck disable=SC2016 # expanded by the pod's shell
    in_probe sh -c 'busybox wget -q -O /dev/null --header "Authorization: Bearer $1" \
        "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api" 2>&1; true' sh "$1"
}

# A service on this machine's address, as a test's AWS emulator is, answers the pod directly.
host_service_reached() {
    local served port answer
    served="$(mktemp -d)"
    head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$served/secret"
    port="$(node__free_port "$NODE_ADDRESS")"
    python3 -m http.server --bind "$NODE_ADDRESS" --directory "$served" "$port" >/dev/null 2>&1 &
    local server=$!
    for _ in $(seq 1 20); do
        answer="$(in_probe wget -q -O- "http://$NODE_ADDRESS:$port/secret" 2>/dev/null)" && break
        sleep 0.5
    done
    kill "$server"
    wait "$server" 2>/dev/null
    [ -n "$answer" ] && [ "$answer" = "$(cat "$served/secret")" ]
    local status=$?
    rm -rf "$served"
    return "$status"
}

bogus_token_refused() {
    status_for_token not-a-token | grep -q '401 Unauthorized'
}

aws_token_refused_by_api_server() {
    status_for_token "$(in_probe cat /var/run/secrets/eks.amazonaws.com/serviceaccount/token)" | grep -q '401 Unauthorized'
}

# The projected token: claims, and an RS256 signature that the key in the issuer's JWKS (read
# without credentials, as STS reads it) verifies, that key being the API server's signing key.
aws_token_is_sts_jwt() {
    local work status=0
    work="$(mktemp -d)"
    in_probe cat /var/run/secrets/eks.amazonaws.com/serviceaccount/token >"$work/token"
    python3 "$here/jwt-parts.py" "$work" "$NODE_API_URL" "$NODE_CA" system:serviceaccount:node-smoke:probe \
        sts.amazonaws.com || status=1
    [ "$status" -eq 0 ] &&
        [ "$(openssl rsa -pubin -in "$NODE_DIR/pki/sa.pub" -noout -modulus | cut -d= -f2)" = "$(cat "$work/jwks-modulus")" ] &&
        openssl dgst -sha256 -verify "$NODE_DIR/pki/sa.pub" -signature "$work/signature" "$work/signed" >/dev/null ||
        status=1
    rm -rf "$work"
    return "$status"
}

# containerd's registry traffic goes to a closed loopback port: the pull fails there.
unpulled_image_fails_locally() {
    local messages=""
    for _ in $(seq 1 60); do
        messages="$(kubectl_ -n node-smoke get events --field-selector involvedObject.name=unpullable,reason=Failed \
            -o 'jsonpath={.items[*].message}')"
        [[ "$messages" == *"Failed to pull image"* ]] && break
        sleep 1
    done
    echo "     ($messages)"
    [[ "$messages" == *"proxyconnect tcp: dial tcp 127.0.0.1:9: connect: connection refused"* ]]
}

# --- after node_stop

nothing_runs() {
    local pid left=0
    for pid in $node_pids; do
        if [ -d "/proc/$pid" ]; then
            echo "     still running: $pid $(tr '\0' ' ' <"/proc/$pid/cmdline")"
            left=1
        fi
    done
    for pid in /proc/[0-9]*; do
        if [[ "$(tr '\0' ' ' 2>/dev/null <"$pid/cmdline")" == *"$node_socket"* ]]; then
            echo "     still running: ${pid#/proc/} (a shim of the node's containerd)"
            left=1
        fi
    done
    return "$left"
}

no_mounts_left() {
    ! findmnt -rn -o TARGET | grep -F -e "$node_dir/" -e /run/netns/cni-
}

# containerd names its pods' network namespaces cni-*; podman, which may be running, does not.
no_network_left() {
    ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && [ -z "$(ip -o link show master "$NODE_BRIDGE" 2>/dev/null)" ] &&
        [ -z "$(comm -13 "$before/netns" <(ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ { print $1 }' | sort))" ]
}

no_chains_left() {
    python3 "$here/iptables-sweep.py" --network "$NODE_NETWORK" &&
        ! iptables-save | grep -qF "$NODE_NETWORK"
}

no_cgroups_left() {
    [ -z "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -name kubepods)" ]
}

# Every sysctl but counters and per-interface keys (interfaces come and go) compared by value.
# Forwarding may stay on only while another bridge's containers use it (node__restore_sysctls).
sysctls_as_before() {
    local tolerated=""
    if node__other_bridge_in_use; then
        tolerated=net.ipv4.ip_forward
        echo "     (another bridge is in use: forwarding may stay on)"
    fi
    python3 - "$before/sysctls" "$after/sysctls" "$tolerated" <<'PY'
import re, sys
COUNTERS = re.compile(r"^(fs\.|kernel\.random\.|kernel\.ns_last_pid$|kernel\.pty\.nr$|net\.netfilter\.nf_conntrack_count$)")
PER_INTERFACE = re.compile(r"^net\.ipv[46]\.(conf|neigh)\.(?!all\.|default\.)")
FORWARDING = re.compile(r"^net\.ipv4\.(ip_forward$|conf\.(all|default)\.forwarding$)")
def read(path):
    with open(path) as file:
        pairs = (line.rstrip("\n").split(" = ", 1) for line in file if " = " in line)
        return {k: v for k, v in pairs if not COUNTERS.match(k) and not PER_INTERFACE.match(k)}
before, after = read(sys.argv[1]), read(sys.argv[2])
tolerated = sys.argv[3] == "net.ipv4.ip_forward"
changed = [
    f"{k}: {before[k]!r} -> {after[k]!r}"
    for k in sorted(before.keys() & after.keys())
    if before[k] != after[k] and not (tolerated and FORWARDING.match(k))
]
for line in changed:
    print("     " + line)
sys.exit(1 if changed else 0)
PY
}

# The directories only kubelet and this containerd make, and the CNI library's cached results of
# the node's networks (podman may be making others in the same directory).
host_dirs_as_before() {
    diff "$before/dirs" "$after/dirs" && diff "$before/cni-results" "$after/cni-results"
}

start_node_with_probe() {
    node_start
    node_dir="$NODE_DIR"
    node_socket="$NODE_CONTAINERD_SOCKET"
    node_pids="$(cut -d' ' -f1 "$node_dir"/pids/* | tr '\n' ' ')"
    kubectl_ create namespace node-smoke >/dev/null
    probe_manifest | kubectl_ apply -f - >/dev/null
}

timed() {
    local started=$SECONDS
    "$@"
    echo "==> $* took $((SECONDS - started))s"
}

left_nothing() {
    snapshot "$after"
    check "no process of the node is left ($1)" nothing_runs
    check "no mount of the node is left ($1)" no_mounts_left
    check "no bridge, veth or network namespace of the node is left ($1)" no_network_left
    check "no KUBE-* chain or chain of the node's CNI network is left ($1)" no_chains_left
    check "no kubepods cgroup is left ($1)" no_cgroups_left
    check "sysctls are as before ($1)" sysctls_as_before
    check "kubelet's and containerd's host directories and CNI results are as before ($1)" host_dirs_as_before
    check "the node's marker is gone ($1)" test ! -e "$NODE_MARKER"
}

before="$(mktemp -d)"
after="$before/after"
snapshot "$before"
trap 'node_stop; rm -rf "$before"' EXIT

echo "== a node, pods on it, node_stop"
start_node_with_probe
unpullable_manifest | kubectl_ apply -f - >/dev/null
check "node $NODE_NAME is Ready, kubelet v1.20.2" node_is_ready
check "the probe pod is scheduled, Running and Ready" probe_is_ready
check "the API server answers the pod through the kubernetes Service ClusterIP" api_answered_through_cluster_ip
check "the API server refuses a bogus token from the pod" bogus_token_refused
check "the pod reaches a service on this machine's address $NODE_ADDRESS" host_service_reached
check "the projected token is a JWT for sts.amazonaws.com signed by the issuer's JWKS key" aws_token_is_sts_jwt
check "the API server does not take the sts.amazonaws.com token as a credential" aws_token_refused_by_api_server
check "an image that is not loaded is not pulled from outside this machine" unpulled_image_fails_locally
timed node_stop
left_nothing "after node_stop"

# As when a test run is killed: nothing stops the node's pods, and node_stop runs later, in
# another shell, with only the run directory to go by.
echo "== a node killed with SIGKILL, then node.sh stop"
start_node_with_probe
check "the probe pod is Ready on the node started again" probe_is_ready
# shellcheck disable=SC2086 # a list of pids
kill -KILL $node_pids
timed "$here/node.sh" stop
left_nothing "after SIGKILL and node.sh stop"

echo "node smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
