#!/usr/bin/env bash
# Builds every Kubernetes 1.20 binary the tests run from Debian bookworm's own `kubernetes` source
# package with bookworm's Go, in one `make` of one tree, once, into a cache outside the repository
# ($SECUREQUEUE_KUBE_CACHE, default ~/.cache/securequeue/kube-1.20); later runs reuse it:
# - kube-apiserver and kube-controller-manager, for the API server tests (tests/kube/cluster.sh);
# - kubelet, kube-scheduler, kube-proxy and kubectl, for the one-node cluster (tests/node/);
# - pause, that tree's build/pause/linux/pause.c compiled statically as upstream does.
# One make, because the binaries share most of their packages: built apart, the node's took
# another full compile of them on CI's 2 cores. Needs root for apt-get (as on CI machines).
# Prints the cache directory.
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

KUBE120_COMMANDS=(kube-apiserver kube-controller-manager kubelet kube-scheduler kube-proxy kubectl)
# The version the pause image carries (tests/node/build-node.sh).
KUBE120_PAUSE_TAG=3.4

kube120_built() {
    local name
    for name in "${KUBE120_COMMANDS[@]}" pause; do
        [ -x "$1/bin/$name" ] || return 1
    done
}

build_all() {
    local cache="$1" tree="$1/src/tree" name
    kube120_install_build_deps
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends gcc libc6-dev >/dev/null
    kube120_unpack_source "$cache/src"
    echo "==> building ${KUBE120_COMMANDS[*]} (several minutes)"
    kube120_make "$tree" "${KUBE120_COMMANDS[@]/#/cmd/}"
    echo "==> compiling build/pause/linux/pause.c statically"
    gcc -Os -Wall -Werror -static "-DVERSION=v$KUBE120_PAUSE_TAG-debian" \
        -o "$tree/_output/pause" "$tree/build/pause/linux/pause.c"
    strip "$tree/_output/pause"
    for name in "${KUBE120_COMMANDS[@]}"; do
        cp "$tree/_output/local/bin/linux/amd64/$name" "$cache/bin/"
    done
    cp "$tree/_output/pause" "$cache/bin/"
    rm -rf "$cache/src"
}

main() {
    local cache="${SECUREQUEUE_KUBE_CACHE:-$HOME/.cache/securequeue/kube-1.20}"
    if ! kube120_built "$cache"; then
        mkdir -p "$cache/bin"
        # Runs started side by side (the API server tests and the node's) would otherwise build
        # into the same directory at once.
        exec 9>"$cache/.lock"
        flock 9
        kube120_built "$cache" || kube120_logged "$cache/build.log" build_all "$cache"
    fi
    echo "$cache"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main
fi
