#!/usr/bin/env bash
# Converges new SecureQueues in a crowded account: a fresh emulator (without quota mode, so the
# account fills quickly) first given keys and aliases of other teams, then `securequeue bench`,
# which prints the calls per new SecureQueue against the design's minimum and the tag reads of
# keys no alias names. Usage: tests/bench/crowded.sh [bench flags], e.g.
#   tests/bench/crowded.sh --queues 20 --concurrency 4 --foreign-keys 1500
#   tests/bench/crowded.sh --queues 20 --concurrency 4 --foreign-keys 15000 --foreign-aliases 5000
#   tests/bench/crowded.sh --queues 20 --concurrency 4 --foreign-keys 1500 --without-status
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
cargo build --release --quiet --features bench
# shellcheck source=tests/emulator/emulator.sh
source tests/emulator/emulator.sh
trap emulator_stop EXIT
emulator_start
echo "== $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
target/release/securequeue bench \
    --operator-role-arn "arn:aws:iam::$EMULATOR_ACCOUNT_ID:role/securequeue-operator" "$@"
