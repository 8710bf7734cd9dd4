#!/usr/bin/env bash
# The end-to-end suite on a real node, through the chart exactly as a user installs it
# (`tests/node/e2e.sh`, as root; tests/node_e2e.rs says what it proves). This script only starts
# and stops what the suite runs on:
#   - the operator image, built from the repository's Dockerfile (tests/image/build-image.sh) and
#     loaded into the node's containerd, which pulls nothing;
#   - the one-node cluster of tests/node/node.sh;
#   - the moto emulator on the machine's own address, where pods reach it (they resolve no names:
#     the chart is given http://ADDRESS:PORT);
# then runs `cargo test --test node_e2e` with SECUREQUEUE_NODE_* naming them, and stops the node
# and the emulator on the way out, whatever happened.
#
# Where a cluster is given (KUBECONFIG set; kind in a public CI), the suite runs on it instead:
# no node is started and no image loaded. Then
#   SECUREQUEUE_IMAGE          names the operator image, already on the cluster's nodes
#                              (`kind load docker-image`), as repository:tag;
#   SECUREQUEUE_EMULATOR_HOST  is an address of this machine that the cluster's pods reach (for
#                              kind, the gateway of its docker network), where the emulator listens;
#   SECUREQUEUE_KUBECTL        is the kubectl to use (default: kubectl on PATH).
# The SIGKILL and SIGSTOP failovers need the node's containerd to find the operator's processes;
# on a given cluster the suite skips them and says so.
set -euo pipefail
shopt -s inherit_errexit

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
# shellcheck source=tests/tools.sh
source tests/tools.sh
# shellcheck source=tests/emulator/emulator.sh
source tests/emulator/emulator.sh
# shellcheck source=tests/node/node.sh
source tests/node/node.sh

# What the suite started is gone: the emulator and the node: its marker, its bridge and any
# process of its run directory (smoke.sh proves in full what node_stop removes).
left_clean() {
    local left=()
    kill -0 "$emulator" 2>/dev/null && left+=("the emulator, pid $emulator")
    if [ -z "$given_cluster" ]; then
        [ -e "$NODE_MARKER" ] && left+=("the node's marker $NODE_MARKER")
        ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && left+=("the bridge $NODE_BRIDGE")
        pgrep -f -- "$NODE_DIR/" >/dev/null && left+=("processes of $NODE_DIR: $(pgrep -f -- "$NODE_DIR/" | tr '\n' ' ')")
    fi
    if [ "${#left[@]}" -gt 0 ]; then
        printf 'tests/node/e2e.sh: left behind: %s\n' "${left[@]}" >&2
        return 1
    fi
}

started=$SECONDS
given_cluster="${KUBECONFIG:-}"

# Everything that compiles comes before the node starts, so that the node does not wait for it.
tools_install
cargo test --locked --no-run --test node_e2e

if [ -n "$given_cluster" ]; then
    : "${SECUREQUEUE_IMAGE:?must name the operator image on the cluster KUBECONFIG names}"
    : "${SECUREQUEUE_EMULATOR_HOST:?must be the address of this machine where the pods of that cluster reach the emulator}"
    echo "==> using the cluster KUBECONFIG names ($given_cluster) and the image $SECUREQUEUE_IMAGE"
    trap 'emulator_stop' EXIT
    image="$SECUREQUEUE_IMAGE"
    export SECUREQUEUE_NODE_KUBECONFIG="$given_cluster" SECUREQUEUE_NODE_KUBECTL="${SECUREQUEUE_KUBECTL:-kubectl}"
else
    # shellcheck source=tests/image/podman.sh
    source tests/image/podman.sh
    image="$(tests/image/build-image.sh)"
    archive="$(image_archive "$root/target/node-e2e/image.tar")"
    # A node_start refused because another node runs here stops nothing, and neither may we.
    node_start
    trap 'emulator_stop; node_stop' EXIT
    node_image_import "$archive" >/dev/null
    rm -f "$archive"
    echo "==> $image loaded into the node's containerd"
    export SECUREQUEUE_EMULATOR_HOST="$NODE_ADDRESS"
    export SECUREQUEUE_NODE_KUBECONFIG="$NODE_KUBECONFIG" SECUREQUEUE_NODE_KUBECTL="$NODE_KUBECTL"
    # Where the suite finds the operator's processes and the tokens kubelet projects for them.
    export SECUREQUEUE_NODE_CONTAINERD_SOCKET="$NODE_CONTAINERD_SOCKET"
    export SECUREQUEUE_NODE_KUBELET_ROOT="$NODE_DIR/kubelet/root"
fi
emulator_start
emulator="$EMULATOR_PID"
export SECUREQUEUE_NODE_IMAGE="$image" SECUREQUEUE_HELM="$HELM"
cargo test --locked --test node_e2e -- --nocapture
emulator_stop
[ -n "$given_cluster" ] || node_stop
left_clean
echo "==> node end-to-end suite: $((SECONDS - started))s, from the first build step to the node stopped"
