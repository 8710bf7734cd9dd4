#!/usr/bin/env bash
# Converges SecureQueues against the emulator in quota mode (KMS's documented default request
# quotas, per region and operation, as AWS enforces them), a fresh emulator for each run, with
# `securequeue bench`, which prints each pass's quota bound and its throttled attempts.
# Usage: tests/bench/quota.sh [bench flags], e.g.
#   tests/bench/quota.sh --queues 1000 --concurrency 1000 --aws-quota-share 1
#   tests/bench/quota.sh --queues 1000 --concurrency 1000 --aws-quota-share 1 --rival-create-keys-per-second 2.5
#   tests/bench/quota.sh --simulate-steady-state --queues 10000 --resync-seconds 600
# SECUREQUEUE_BENCH_FEATURES names the cargo features of the build (default: bench), e.g.
#   SECUREQUEUE_BENCH_FEATURES=dhat-heap tests/bench/quota.sh --queues 1000 --concurrency 1000 \
#       --aws-quota-share 1 --heap-profile target/heap.json
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
cargo build --release --quiet --features "${SECUREQUEUE_BENCH_FEATURES:-bench}"
# shellcheck source=tests/emulator/emulator.sh
source tests/emulator/emulator.sh
trap emulator_stop EXIT
# Quota mode unless the caller sets SECUREQUEUE_EMULATOR_QUOTAS, even to nothing (crowded.sh).
SECUREQUEUE_EMULATOR_QUOTAS="${SECUREQUEUE_EMULATOR_QUOTAS-aws}" emulator_start
echo "== $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
target/release/securequeue bench \
    --operator-role-arn "arn:aws:iam::$EMULATOR_ACCOUNT_ID:role/securequeue-operator" "$@"
