# Sourced by tests/run.sh: provides a Kubernetes API server for the end-to-end tests. With
# KUBECONFIG set, that cluster is used (kind or k3d in a public CI). Otherwise kube-apiserver and
# kube-controller-manager 1.20, built once from Debian's source package by build-apiserver.sh,
# run on loopback with Debian's etcd, TLS from a CA made here, token authentication and RBAC.
# The caller's EXIT trap runs cluster_stop.

cluster_start() {
    if [ -n "${KUBECONFIG:-}" ]; then
        echo "==> using the cluster KUBECONFIG names: $KUBECONFIG"
        return
    fi
    local root dir bin etcd_port api_port token
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    bin="$("$root/tests/kube/build-apiserver.sh")/bin"
    dir="$root/target/kube"
    rm -rf "$dir" && mkdir -p "$dir"
    free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
    etcd_port="$(free_port)"
    api_port="$(free_port)"

    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=securequeue-test-ca" \
        -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
        -keyout "$dir/apiserver.key" -out "$dir/apiserver.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n' >"$dir/san.ext"
    openssl x509 -req -in "$dir/apiserver.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 2 -extfile "$dir/san.ext" -out "$dir/apiserver.crt" 2>/dev/null
    openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
    openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
    token="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    printf '%s,admin,admin,"system:masters"\n' "$token" >"$dir/tokens.csv"

    etcd --data-dir "$dir/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" \
        --advertise-client-urls "http://127.0.0.1:$etcd_port" \
        --listen-peer-urls "http://127.0.0.1:$(free_port)" >"$dir/etcd.log" 2>&1 &
    CLUSTER_PIDS="$!"
    # The API server's command is kept in a script of its own, so that restart-apiserver.sh
    # can start it again the same way.
    cat >"$dir/apiserver.sh" <<APISERVER
exec "$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \\
    --bind-address 127.0.0.1 --secure-port "$api_port" --insecure-port 0 \\
    --tls-cert-file "$dir/apiserver.crt" --tls-private-key-file "$dir/apiserver.key" \\
    --client-ca-file "$dir/ca.crt" --token-auth-file "$dir/tokens.csv" \\
    --authorization-mode RBAC --service-cluster-ip-range 10.0.0.0/24 \\
    --service-account-key-file "$dir/sa.pub" --service-account-signing-key-file "$dir/sa.key" \\
    --service-account-issuer https://kubernetes.default.svc --api-audiences https://kubernetes.default.svc \\
    --disable-admission-plugins ServiceAccount
APISERVER
    bash "$dir/apiserver.sh" >"$dir/apiserver.log" 2>&1 &
    echo "$!" >"$dir/apiserver.pid"
    printf '%s %s %s\n' "$api_port" "$token" "$dir/ca.crt" >"$dir/apiserver.ready"

    cat >"$dir/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "https://127.0.0.1:$api_port", certificate-authority: "$dir/ca.crt"}
users:
- name: admin
  user: {token: "$token"}
contexts:
- name: test
  context: {cluster: test, user: admin, namespace: default}
current-context: test
KUBECONFIG
    "$bin/kube-controller-manager" --kubeconfig "$dir/kubeconfig" --leader-elect=false \
        --controllers namespace,garbagecollector,serviceaccount \
        --service-account-private-key-file "$dir/sa.key" --port 0 --secure-port 0 \
        >"$dir/controller-manager.log" 2>&1 &
    CLUSTER_PIDS="$CLUSTER_PIDS $!"
    export KUBECONFIG="$dir/kubeconfig"
    # shellcheck disable=SC2046
    python3 "$root/tests/kube/wait-ready.py" $(cat "$dir/apiserver.ready")
    # Tests that restart the API server (tests/soak.rs) find how here.
    export SECUREQUEUE_TEST_APISERVER_RESTART="$root/tests/kube/restart-apiserver.sh"
    echo "==> kube-apiserver 1.20 ready on https://127.0.0.1:$api_port (KUBECONFIG=$KUBECONFIG)"
}

cluster_stop() {
    local pid root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    if [ -f "$root/target/kube/apiserver.pid" ]; then
        # The API server of the last start or restart.
        CLUSTER_PIDS="${CLUSTER_PIDS:-} $(cat "$root/target/kube/apiserver.pid")"
        rm -f "$root/target/kube/apiserver.pid"
    fi
    for pid in ${CLUSTER_PIDS:-}; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in ${CLUSTER_PIDS:-}; do
        wait "$pid" 2>/dev/null || true
    done
    CLUSTER_PIDS=""
}
