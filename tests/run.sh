#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints, the CRD drift check and all tests. The AWS
# integration tests run against the moto emulator, which this script installs (into target/)
# and starts on loopback; nothing reaches the internet but the package downloads.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --all-targets --locked -- -D warnings

echo "== crds/ is exactly what the code generates"
cargo run --quiet --locked -- crd | diff -u crds/securequeue.io_securequeues.yaml - \
  || { echo "crds/ is stale: run 'cargo run -- crd > crds/securequeue.io_securequeues.yaml'" >&2; exit 1; }

echo "== cargo test (against the moto AWS emulator on loopback)"
cargo build --locked --all-targets
source tests/emulator/emulator.sh
trap emulator_stop EXIT
emulator_start
cargo test --locked --all-targets
