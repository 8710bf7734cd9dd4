# Sourced by bash scripts: a Kubernetes 1.36 API server for CRDs and custom resources, to check
# the CRD and manifests against a current API server (CEL, server-side apply, printer columns,
# kubectl explain) besides the 1.20 one of cluster.sh. It runs tests/kube/apiserver-1.36, built
# once by build-apiserver-1.36.sh, on loopback with sid's etcd 3.5 under target/kube-1.36/.
#
# It serves CRDs and custom resources only: no namespaces (objects go to any namespace without
# one), no Events, Leases, Secrets or RBAC. There is no core API server either, so authentication
# and authorization are delegated to a dummy one at https://127.0.0.1:1, as in upstream's own
# integration tests: only the client certificate made here (group system:masters, always
# allowed) gets in.
#
# cluster136_start exports SECUREQUEUE_KUBECONFIG_136 and SECUREQUEUE_KUBECTL_136 (kubectl 1.36)
# and leaves KUBECONFIG alone, so it can run beside cluster.sh's cluster. With
# SECUREQUEUE_KUBE136_EMULATED_VERSION=1.33 (1.33 to 1.36) the server emulates that minor.
# The caller runs cluster136_stop, in its EXIT trap for instance.

cluster136_start() {
    local root dir cache bin etcd_port api_port
    cluster136_stop # a second start would otherwise orphan the first cluster's processes
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    cache="$("$root/tests/kube/build-apiserver-1.36.sh")" || return 1
    bin="$cache/bin"
    dir="$root/target/kube-1.36"
    rm -rf "$dir" && mkdir -p "$dir" || return 1
    cluster136_free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
    etcd_port="$(cluster136_free_port)"
    api_port="$(cluster136_free_port)"

    # One CA signs the serving certificate and kubectl's client certificate. P-256 keys, not RSA:
    # three RSA keys would take longer to make than the server takes to start.
    local key=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    {
        openssl req -x509 "${key[@]}" -days 2 -subj "/CN=securequeue-test-ca-1.36" \
            -keyout "$dir/ca.key" -out "$dir/ca.crt" &&
            openssl req "${key[@]}" -subj "/CN=kube-apiextensions-apiserver" \
                -keyout "$dir/apiserver.key" -out "$dir/apiserver.csr" &&
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$dir/san.ext" &&
            openssl x509 -req -in "$dir/apiserver.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
                -CAcreateserial -days 2 -extfile "$dir/san.ext" -out "$dir/apiserver.crt" &&
            openssl req "${key[@]}" -subj "/O=system:masters/CN=admin" \
                -keyout "$dir/admin.key" -out "$dir/admin.csr" &&
            printf 'extendedKeyUsage=clientAuth\n' >"$dir/client.ext" &&
            openssl x509 -req -in "$dir/admin.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
                -CAcreateserial -days 2 -extfile "$dir/client.ext" -out "$dir/admin.crt"
    } 2>/dev/null || { echo "cluster136_start: openssl failed" >&2; return 1; }

    # The core API server that nobody runs: the server only needs it for what it delegates.
    cat >"$dir/no-core.kubeconfig" <<'KUBECONFIG'
apiVersion: v1
kind: Config
clusters:
- name: none
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
users:
- name: none
  user: {}
contexts:
- name: none
  context: {cluster: none, user: none}
current-context: none
KUBECONFIG

    local emulated=()
    if [ -n "${SECUREQUEUE_KUBE136_EMULATED_VERSION:-}" ]; then
        emulated=(--emulated-version "$SECUREQUEUE_KUBE136_EMULATED_VERSION")
    fi

    "$bin/etcd" --data-dir "$dir/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" \
        --advertise-client-urls "http://127.0.0.1:$etcd_port" \
        --listen-peer-urls "http://127.0.0.1:$(cluster136_free_port)" >"$dir/etcd.log" 2>&1 &
    CLUSTER136_ETCD_PID="$!"
    # The admission plugins turned off would wait for namespaces or admission API objects from
    # the missing core server; priority and fairness would want its flowcontrol objects.
    "$bin/kube-apiextensions-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
        --tls-cert-file "$dir/apiserver.crt" --tls-private-key-file "$dir/apiserver.key" \
        --client-ca-file "$dir/ca.crt" --authentication-skip-lookup \
        --kubeconfig "$dir/no-core.kubeconfig" \
        --authentication-kubeconfig "$dir/no-core.kubeconfig" \
        --authorization-kubeconfig "$dir/no-core.kubeconfig" \
        --disable-admission-plugins NamespaceLifecycle,MutatingAdmissionPolicy,MutatingAdmissionWebhook,ValidatingAdmissionPolicy,ValidatingAdmissionWebhook \
        --enable-priority-and-fairness=false \
        "${emulated[@]}" >"$dir/apiserver.log" 2>&1 &
    CLUSTER136_SERVER_PID="$!"

    cat >"$dir/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: test-1.36
  cluster: {server: "https://127.0.0.1:$api_port", certificate-authority: "$dir/ca.crt"}
users:
- name: admin
  user: {client-certificate: "$dir/admin.crt", client-key: "$dir/admin.key"}
contexts:
- name: test-1.36
  context: {cluster: test-1.36, user: admin, namespace: default}
current-context: test-1.36
KUBECONFIG

    # /healthz, not /readyz: readiness also waits for the missing core server, for ever.
    if ! python3 - "$api_port" "$dir" "$CLUSTER136_SERVER_PID" "$CLUSTER136_ETCD_PID" <<'PY'; then
import os, ssl, sys, time, urllib.request
port, dir, pids = sys.argv[1], sys.argv[2], sys.argv[3:]

def running(pid):
    # One that exited stays a zombie until the shell waits for it.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False

context = ssl.create_default_context(cafile=f"{dir}/ca.crt")
context.load_cert_chain(f"{dir}/admin.crt", f"{dir}/admin.key")
deadline = time.monotonic() + 180
while time.monotonic() < deadline:
    if not all(running(pid) for pid in pids):
        sys.exit(f"a process of the 1.36 test cluster exited; see its log in {dir}")
    try:
        if urllib.request.urlopen(f"https://127.0.0.1:{port}/healthz", context=context, timeout=2).status == 200:
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(f"the 1.36 API server did not become healthy in 180 s; see {dir}/apiserver.log")
PY
        tail -n 20 "$dir/apiserver.log" >&2
        cluster136_stop
        return 1
    fi
    export SECUREQUEUE_KUBECONFIG_136="$dir/kubeconfig"
    export SECUREQUEUE_KUBECTL_136="$bin/kubectl"
    echo "==> Kubernetes 1.36 API server${SECUREQUEUE_KUBE136_EMULATED_VERSION:+ (emulating $SECUREQUEUE_KUBE136_EMULATED_VERSION)} healthy on https://127.0.0.1:$api_port (SECUREQUEUE_KUBECONFIG_136=$SECUREQUEUE_KUBECONFIG_136)"
}

cluster136_stop() {
    local pid i
    # The server first: without etcd it would retry it while shutting down.
    for pid in ${CLUSTER136_SERVER_PID:-} ${CLUSTER136_ETCD_PID:-}; do
        kill "$pid" 2>/dev/null || continue
        for ((i = 0; i < 100; i++)); do
            case "$(ps -o stat= -p "$pid" 2>/dev/null)" in "" | Z*) break ;; esac
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    CLUSTER136_SERVER_PID=""
    CLUSTER136_ETCD_PID=""
}
