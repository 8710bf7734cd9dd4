#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints, the CRD drift check and all tests.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --all-targets --locked -- -D warnings

echo "== crds/ is exactly what the code generates"
cargo run --quiet --locked -- crd | diff -u crds/securequeue.io_securequeues.yaml - \
  || { echo "crds/ is stale: run 'cargo run -- crd > crds/securequeue.io_securequeues.yaml'" >&2; exit 1; }

echo "== cargo test"
cargo test --locked --all-targets
