#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager 1.20 from Debian bookworm's own `kubernetes`
# source package with bookworm's Go, once, into a cache outside the repository
# ($SECUREQUEUE_KUBE_CACHE, default ~/.cache/securequeue/kube-1.20); later runs reuse it.
# Needs root for apt-get (as on CI machines). Prints the cache directory.
# tests/node/build-node.sh sources this file for its kube120_* functions, so that the node's
# binaries come from the same source tree built the same way; run directly, it builds.
set -euo pipefail
shopt -s inherit_errexit

# Go, the reflect2 that replaces the vendored one, etcd, and the deb-src entries for `apt-get source`.
kube120_install_build_deps() {
    echo "==> installing build dependencies and etcd from Debian"
    if [ ! -f /etc/apt/sources.list.d/securequeue-deb-src.sources ]; then
        sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
            > /etc/apt/sources.list.d/securequeue-deb-src.sources
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends golang-go \
        golang-github-modern-go-reflect2-dev etcd-server dpkg-dev rsync openssl >/dev/null
}

# Unpacks the kubernetes source package into $1/tree (emptying $1 first) and fixes its vendor tree.
kube120_unpack_source() {
    local work="$1"
    rm -rf "$work" && mkdir -p "$work"
    echo "==> fetching the kubernetes source package"
    (cd "$work" && apt-get source -qq --download-only kubernetes &&
        dpkg-source -x --no-check ./kubernetes_*.dsc tree >/dev/null)
    # The vendored reflect2 1.0.1 crashes under Go >= 1.18 on the first custom-resource write.
    local reflect2="$work/tree/vendor/github.com/modern-go/reflect2"
    rm -rf "$reflect2" && mkdir -p "$reflect2"
    rsync -a /usr/share/gocode/src/github.com/modern-go/reflect2/ "$reflect2/"
}

# Builds the commands named after $1 (e.g. cmd/kubelet) in the unpacked tree $1, static and
# offline, with the version the package carries; they land in $1/_output/local/bin/linux/amd64.
kube120_make() {
    local tree="$1"
    shift
    (
        cd "$tree"
        export GOPROXY=off GOFLAGS=-mod=vendor CGO_ENABLED=0 GO111MODULE=off
        export KUBE_GIT_VERSION=v1.20.2 KUBE_GIT_TREE_STATE=clean KUBE_GIT_COMMIT=0000000000000000000000000000000000000000
        make WHAT="$*" KUBE_BUILD_PLATFORMS=linux/amd64
    )
}

# Runs "$2..." with its output in the log $1; on failure, shows the log's tail. Not
# `build || ...`: bash ignores `set -e` inside a command whose status `||` tests, so a failed
# step would go on and the build would end "successfully".
kube120_logged() {
    KUBE120_LOG="$1"
    shift
    trap 'kube120_log_tail_on_failure "$?"' EXIT
    "$@" >"$KUBE120_LOG" 2>&1
    trap - EXIT
}

kube120_log_tail_on_failure() {
    if [ "$1" -ne 0 ]; then
        tail -n 40 "$KUBE120_LOG" >&2
        echo "$(basename "$0") failed; full log: $KUBE120_LOG" >&2
    fi
}

build_apiserver() {
    local cache="$1"
    kube120_install_build_deps
    kube120_unpack_source "$cache/src"
    echo "==> building kube-apiserver and kube-controller-manager (several minutes)"
    kube120_make "$cache/src/tree" cmd/kube-apiserver cmd/kube-controller-manager
    cp "$cache/src/tree/_output/local/bin/linux/amd64/kube-apiserver" \
        "$cache/src/tree/_output/local/bin/linux/amd64/kube-controller-manager" "$cache/bin/"
    rm -rf "$cache/src"
}

main() {
    local cache="${SECUREQUEUE_KUBE_CACHE:-$HOME/.cache/securequeue/kube-1.20}"
    if [ ! -x "$cache/bin/kube-apiserver" ] || [ ! -x "$cache/bin/kube-controller-manager" ]; then
        mkdir -p "$cache/bin"
        kube120_logged "$cache/build.log" build_apiserver "$cache"
    fi
    echo "$cache"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main
fi
