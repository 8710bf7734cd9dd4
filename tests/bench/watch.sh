#!/usr/bin/env bash
# Measures the operator watching many SecureQueues on the end-to-end tests' API server (or the
# cluster KUBECONFIG names): time from start to first reconcile, and memory.
# Usage: tests/bench/watch.sh [--secure-queues N] [--settle-seconds S]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
# shellcheck source=tests/kube/cluster.sh
source tests/kube/cluster.sh
trap cluster_stop EXIT
cargo build --release --quiet
cluster_start
target/release/securequeue bench-watch "$@"
