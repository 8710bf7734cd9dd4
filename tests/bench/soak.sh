#!/usr/bin/env bash
# The kill-anywhere soak at full size: tests/soak.rs (which CI runs with 40 SecureQueues and 5
# kills) with 500 SecureQueues and 20 kills by default, built for release, on the test API
# server; it prints the schedule (with its seed), the time to all Ready and the writes over the
# design's minimum per kill. Usage: tests/bench/soak.sh [QUEUES [KILLS [SEED]]]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
cargo build --release --quiet --tests
# shellcheck source=tests/emulator/emulator.sh
source tests/emulator/emulator.sh
# shellcheck source=tests/kube/cluster.sh
source tests/kube/cluster.sh
trap 'emulator_stop; cluster_stop' EXIT
# The soak runs an emulator of its own; this one provides its Python and credentials.
emulator_start
cluster_start
echo "== $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
SECUREQUEUE_SOAK_QUEUES="${1:-500}" SECUREQUEUE_SOAK_KILLS="${2:-20}" SECUREQUEUE_SOAK_SEED="${3:-}" \
    cargo test --release --quiet --test soak -- --nocapture
