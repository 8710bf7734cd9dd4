# shellcheck shell=bash
# Sourced: podman as the image tier runs it, and the operator image's name. podman keeps its
# images, build cache mounts (the crates of the image's build) and state in the tier's own cache,
# $SECUREQUEUE_IMAGE_CACHE (default ~/.cache/securequeue/image), apart from any other podman use
# on the machine; deleting that directory (nothing stays mounted between the scripts) makes the
# next build cold. Needs root, as on CI machines.
#   image_tools_install      podman, runc, mmdebstrap and objcopy from Debian, when missing
#   image_podman ARGS...     podman with the tier's storage and tests/image/containers.conf
#   image_archive PATH       writes $SECUREQUEUE_IMAGE to PATH as an OCI archive, prints PATH
#                            (for `ctr -n k8s.io images import PATH`)
# SECUREQUEUE_IMAGE names the image the tier builds and checks (default localhost/securequeue:test).

IMAGE_CACHE="${SECUREQUEUE_IMAGE_CACHE:-$HOME/.cache/securequeue/image}"
SECUREQUEUE_IMAGE="${SECUREQUEUE_IMAGE:-localhost/securequeue:test}"

image_tools_install() {
    local tool missing=0
    for tool in podman runc mmdebstrap objcopy; do
        command -v "$tool" >/dev/null || missing=1
    done
    [ "$missing" -eq 0 ] && return 0
    echo "==> installing podman, runc, mmdebstrap and binutils from Debian" >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends podman runc mmdebstrap binutils >/dev/null
}

# Storage and the build's cache mounts (buildah keeps them under TMPDIR) in the cache; the
# run-time state, which must not outlive a reboot, under /run.
image_podman() {
    local here
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    mkdir -p "$IMAGE_CACHE/tmp"
    CONTAINERS_CONF="$here/containers.conf" TMPDIR="$IMAGE_CACHE/tmp" podman \
        --root "$IMAGE_CACHE/storage" \
        --runroot /run/securequeue-image/storage \
        --tmpdir /run/securequeue-image/libpod \
        "$@"
}

image_archive() {
    local path="$1"
    mkdir -p "$(dirname "$path")"
    rm -f "$path"
    image_podman save --quiet --format oci-archive -o "$path" "$SECUREQUEUE_IMAGE"
    echo "$path"
}
