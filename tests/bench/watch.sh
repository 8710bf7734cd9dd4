#!/usr/bin/env bash
# Measures the operator watching many SecureQueues on one of the test API servers (or the
# cluster KUBECONFIG names): time from start to first reconcile, and memory.
# Usage: tests/bench/watch.sh [--server 1.20|1.36] [--secure-queues N] [--settle-seconds S]
# 1.20 (the default) lists the initial state in one response; the v1.36 server streams it
# (sendInitialEvents).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
server=1.20
if [ "${1:-}" = "--server" ]; then
    server="$2"
    shift 2
fi
cargo build --release --quiet --features bench
case "$server" in
    1.20)
        # shellcheck source=tests/kube/cluster.sh
        source tests/kube/cluster.sh
        trap cluster_stop EXIT
        cluster_start
        ;;
    1.36)
        # shellcheck source=tests/kube/cluster-1.36.sh
        source tests/kube/cluster-1.36.sh
        trap cluster136_stop EXIT
        cluster136_start
        export KUBECONFIG="$SECUREQUEUE_KUBECONFIG_136"
        ;;
    *)
        echo "--server: 1.20 or 1.36, not $server" >&2
        exit 2
        ;;
esac
target/release/securequeue bench-watch "$@"
