#!/usr/bin/env bash
# Builds the operator image from the repository's Dockerfile, unchanged, as users build it with
# Docker: `podman build --pull=never` on the stand-in base images (tests/image/standins.sh), with
# the checkout's commit as SOURCE_COMMIT, tagged $SECUREQUEUE_IMAGE (tests/image/podman.sh).
# Installs the tools first. The build's layers and its cache mounts (crates, target/) stay in
# the tier's cache, so a rebuild of the same sources takes seconds and one of changed sources
# compiles only the operator's crate. Prints the image's name; the build's output goes to
# $SECUREQUEUE_IMAGE_CACHE/build.log, its tail to stderr on failure.
set -euo pipefail
shopt -s inherit_errexit
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=tests/image/podman.sh
source "$here/podman.sh"

image_tools_install
"$here/standins.sh"

commit="$(git -C "$root" rev-parse HEAD)"
if [ -n "$(git -C "$root" status --porcelain -- Dockerfile Cargo.toml Cargo.lock build.rs src)" ]; then
    echo "==> note: the sources differ from $commit, which --version will name all the same" >&2
fi
log="$IMAGE_CACHE/build.log"
on_exit() {
    local status=$?
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$log" >&2
        echo "build-image.sh failed; full log: $log" >&2
    fi
}
trap on_exit EXIT

# The host's network: the build fetches crates as the machine does, and podman sets up no
# bridge or firewall rules that would outlive it.
build() {
    image_podman build --pull=never --layers --network=host \
        --build-arg SOURCE_COMMIT="$commit" "$@" "$root"
}

echo "==> building $SECUREQUEUE_IMAGE from the Dockerfile (commit $commit)" >&2
build --tag "$SECUREQUEUE_IMAGE" >"$log" 2>&1
# The build stage, tagged from the layers just made, is the cache of the next build; then what
# earlier builds and stand-ins left, untagged, goes (about 60 MB a commit).
build --target build --tag "$SECUREQUEUE_IMAGE-build" >>"$log" 2>&1
image_podman image prune --force >>"$log"
echo "$SECUREQUEUE_IMAGE"
