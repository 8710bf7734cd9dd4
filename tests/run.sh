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

source tests/tools.sh
tools_install

echo "== hadolint Dockerfile"
"$HADOLINT" Dockerfile

echo "== the chart's and deploy/kubernetes' CRD and manifests are the generated ones; helm lint --strict and helm template"
diff -u crds/securequeue.io_securequeues.yaml charts/securequeue/crds/securequeue.io_securequeues.yaml \
  || { echo "charts/securequeue/crds/ is stale: copy crds/securequeue.io_securequeues.yaml" >&2; exit 1; }
diff -u crds/securequeue.io_securequeues.yaml deploy/kubernetes/securequeue.io_securequeues.yaml \
  || { echo "deploy/kubernetes/ has a stale CRD: copy crds/securequeue.io_securequeues.yaml" >&2; exit 1; }
"$HELM" template securequeue charts/securequeue --namespace securequeue-system \
  | diff -u deploy/kubernetes/operator.yaml - \
  || { echo "deploy/kubernetes/operator.yaml is stale: regenerate it with helm template (see its kustomization.yaml)" >&2; exit 1; }
for values in "" "-f charts/securequeue/ci/all-options-values.yaml"; do
  # shellcheck disable=SC2086
  "$HELM" lint --strict charts/securequeue $values
  # shellcheck disable=SC2086
  "$HELM" template securequeue charts/securequeue $values >/dev/null
done

echo "== the Argo CD health check, in Lua"
"$TOOLS_PYTHON" tests/gitops/test_argocd_health.py

echo "== cargo test (against the moto AWS emulator and a Kubernetes API server on loopback)"
cargo build --locked --all-targets
source tests/emulator/emulator.sh
source tests/kube/cluster.sh
trap 'emulator_stop; cluster_stop' EXIT
emulator_start
cluster_start
cargo test --locked --all-targets

echo "== helm install on the test cluster"
"$HELM" install securequeue charts/securequeue --namespace securequeue-system --create-namespace \
  --set aws.region=us-east-1 --wait=false
"$HELM" get manifest securequeue --namespace securequeue-system | grep -c "^kind:"
"$HELM" uninstall securequeue --namespace securequeue-system
