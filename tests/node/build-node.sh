#!/usr/bin/env bash
# Makes what the one-node cluster of tests/node/node.sh needs beyond the Kubernetes binaries,
# once, into a cache outside the repository ($SECUREQUEUE_NODE_CACHE, default
# ~/.cache/securequeue/kube-1.20-node), and installs the node's runtime from Debian:
# - two OCI image archives for `ctr images import`: the pause sandbox image (the pause binary
#   tests/kube/build-apiserver.sh builds with kubelet and the rest of the 1.20 tree), and busybox
#   (Debian's busybox-static, not installed on the host) for pods that need a shell and wget;
# - containerd, runc, the CNI plugins, iptables, conntrack, iproute2 and procps, from apt.
# No registry is involved: images come from the archive here. Needs root. Prints the cache
# directory; logs to $cache/build.log. To remake, delete the cache directory.
set -euo pipefail
shopt -s inherit_errexit

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/kube/build-apiserver.sh
source "$here/../kube/build-apiserver.sh"

cache="${SECUREQUEUE_NODE_CACHE:-$HOME/.cache/securequeue/kube-1.20-node}"
# node.sh also uses ip, sysctl and findmnt (util-linux, always there).
runtime_packages=(containerd runc containernetworking-plugins iptables conntrack iproute2 procps)
pause_tag="$KUBE120_PAUSE_TAG"
# The images are remade when the script that writes them changes.
images_stamp="$(cat "$here/oci-archive.py" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"

images_built() {
    [ -f "$cache/images/pause.tar" ] && [ -f "$cache/images/busybox.tar" ] &&
        [ "$(cat "$cache/images/stamp" 2>/dev/null)" = "$images_stamp" ]
}

runtime_installed() {
    local package
    for package in "${runtime_packages[@]}"; do
        [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" = "install ok installed" ] || return 1
    done
}

install_runtime() {
    echo "==> installing containerd, runc, the CNI plugins, iptables, conntrack, iproute2 and procps from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
        "${runtime_packages[@]}" >/dev/null
}

# busybox-static's version, e.g. 1:1.35.0-4+deb12u1 -> 1.35.0: the image's tag.
busybox_tag() {
    local version
    version="$(dpkg-deb -f "$1" Version)"
    version="${version#*:}"
    echo "${version%%-*}"
}

build_images() {
    local work="$cache/images.work" tag
    rm -rf "$work" && mkdir -p "$work/pause" "$work/busybox/bin"
    echo "==> making the pause image"
    cp "$kube_bin/pause" "$work/pause/pause"
    python3 "$here/oci-archive.py" --name "localhost/securequeue/pause:$pause_tag" \
        --entrypoint /pause "$work/pause" "$work/pause.tar"

    echo "==> making the busybox image from Debian's busybox-static"
    (cd "$work" && apt-get download -qq busybox-static)
    dpkg-deb -x "$work"/busybox-static_*.deb "$work/deb"
    cp "$work/deb/bin/busybox" "$work/busybox/bin/busybox"
    ln -s busybox "$work/busybox/bin/sh"
    mkdir -m 1777 "$work/busybox/tmp"
    tag="$(busybox_tag "$work"/busybox-static_*.deb)"
    python3 "$here/oci-archive.py" --name "localhost/securequeue/busybox:$tag" \
        --entrypoint /bin/busybox "$work/busybox" "$work/busybox.tar"

    mkdir -p "$cache/images"
    mv "$work/pause.tar" "$work/busybox.tar" "$cache/images/"
    printf 'localhost/securequeue/pause:%s\n' "$pause_tag" >"$cache/images/pause.name"
    printf 'localhost/securequeue/busybox:%s\n' "$tag" >"$cache/images/busybox.name"
    echo "$images_stamp" >"$cache/images/stamp"
    rm -rf "$work"
}

build_node() {
    if ! runtime_installed; then
        install_runtime
    fi
    if ! images_built; then
        build_images
    fi
}

main() {
    kube_bin="$("$here/../kube/build-apiserver.sh")/bin"
    if runtime_installed && images_built; then
        echo "$cache"
        return
    fi
    mkdir -p "$cache"
    # Test runs started side by side would otherwise build into the same directory at once.
    exec 9>"$cache/.lock"
    flock 9
    kube120_logged "$cache/build.log" build_node
    echo "$cache"
}

main
