#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager 1.20 from Debian bookworm's own `kubernetes`
# source package with bookworm's Go, once, into a cache outside the repository
# ($SECUREQUEUE_KUBE_CACHE, default ~/.cache/securequeue/kube-1.20); later runs reuse it.
# Needs root for apt-get (as on CI machines). Prints the cache directory.
set -euo pipefail
shopt -s inherit_errexit

cache="${SECUREQUEUE_KUBE_CACHE:-$HOME/.cache/securequeue/kube-1.20}"
if [ -x "$cache/bin/kube-apiserver" ] && [ -x "$cache/bin/kube-controller-manager" ]; then
    echo "$cache"
    exit 0
fi
mkdir -p "$cache/bin"
log="$cache/build.log"
# The log's tail on failure. Not `build || ...`: bash ignores `set -e` inside a command whose
# status `||` tests, so a failed step would go on and the build would end "successfully".
on_exit() {
    local status=$?
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$log" >&2
        echo "build-apiserver.sh failed; full log: $log" >&2
    fi
}
trap on_exit EXIT

build() {
    echo "==> installing build dependencies and etcd from Debian"
    if [ ! -f /etc/apt/sources.list.d/securequeue-deb-src.sources ]; then
        sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
            > /etc/apt/sources.list.d/securequeue-deb-src.sources
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends golang-go golang-github-modern-go-reflect2-dev \
        etcd-server dpkg-dev rsync openssl >/dev/null

    work="$cache/src"
    rm -rf "$work" && mkdir -p "$work" && cd "$work"
    echo "==> fetching the kubernetes source package"
    apt-get source -qq --download-only kubernetes
    dpkg-source -x --no-check ./kubernetes_*.dsc tree >/dev/null
    cd tree

    # The vendored reflect2 1.0.1 crashes under Go >= 1.18 on the first custom-resource write.
    reflect2=vendor/github.com/modern-go/reflect2
    rm -rf "$reflect2" && mkdir -p "$reflect2"
    rsync -a /usr/share/gocode/src/github.com/modern-go/reflect2/ "$reflect2/"

    echo "==> building kube-apiserver and kube-controller-manager (several minutes)"
    export GOPROXY=off GOFLAGS=-mod=vendor CGO_ENABLED=0 GO111MODULE=off
    export KUBE_GIT_VERSION=v1.20.2 KUBE_GIT_TREE_STATE=clean KUBE_GIT_COMMIT=0000000000000000000000000000000000000000
    make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" KUBE_BUILD_PLATFORMS=linux/amd64
    cp _output/local/bin/linux/amd64/kube-apiserver _output/local/bin/linux/amd64/kube-controller-manager "$cache/bin/"
    cd "$cache" && rm -rf "$work"
}

build >"$log" 2>&1
echo "$cache"
