#!/usr/bin/env bash
# Builds a Kubernetes 1.36 API server for CRDs and custom resources (tests/kube/apiserver-1.36, the
# stock k8s.io/apiextensions-apiserver plus discovery and OpenAPI) and fetches etcd and kubectl
# 1.36, once, into a cache outside the repository ($SECUREQUEUE_KUBE136_CACHE, default
# ~/.cache/securequeue/kube-1.36); later runs reuse it, unless main.go has changed since.
# Bookworm has no Go source of Kubernetes that recent, so everything comes from Debian sid,
# built with sid's Go in GOPATH mode (Debian's Go packages are not modules) inside a throwaway
# sid chroot, which is deleted afterwards: the cache keeps only the three binaries (~180 MB).
# Needs root (apt-get, mmdebstrap, chroot). Prints the cache directory; logs to $cache/build.log.
# To rebuild anyway (sid has moved on, say), delete the cache directory.
set -euo pipefail
shopt -s inherit_errexit

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
main="$here/apiserver-1.36/main.go"
cache="${SECUREQUEUE_KUBE136_CACHE:-$HOME/.cache/securequeue/kube-1.36}"
bin="$cache/bin"
stamp="$(sha256sum "$main" | cut -d' ' -f1)"

built() {
    [ -x "$bin/kube-apiextensions-apiserver" ] && [ -x "$bin/etcd" ] && [ -x "$bin/kubectl" ] &&
        [ "$(cat "$bin/main.go.sha256" 2>/dev/null)" = "$stamp" ]
}
if built; then
    echo "$cache"
    exit 0
fi

mkdir -p "$cache"
# Test runs started side by side would otherwise build into the same chroot at once.
exec 9>"$cache/.lock"
flock 9
if built; then
    echo "$cache"
    exit 0
fi

log="$cache/build.log"
chroot_dir="$cache/chroot"
cleanup() {
    local status=$?
    # --one-file-system: never descend into anything still mounted there.
    rm -rf --one-file-system "$chroot_dir"
    if [ "$status" -ne 0 ]; then
        if [ -f "$log" ]; then
            tail -n 40 "$log" >&2
        fi
        echo "build-apiserver-1.36.sh failed; full log: $log" >&2
        exit 1
    fi
}
trap cleanup EXIT

# The host already trusts this mirror for bookworm; sid lives on the same one.
debian_mirror() {
    local sources=/etc/apt/sources.list.d/debian.sources mirror=""
    if [ -f "$sources" ]; then
        mirror="$(awk '$1 == "URIs:" && $2 !~ /security/ { print $2; exit }' "$sources")"
    fi
    if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
        mirror="$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)"
    fi
    [ -n "$mirror" ] || { echo "no Debian mirror found in $sources or /etc/apt/sources.list" >&2; return 1; }
    echo "$mirror"
}

# Runs a command in the chroot with a /proc of its own (Go needs one): the private mount
# namespace takes that mount away with it, even if the build is interrupted.
in_chroot() {
    unshare --mount --pid --fork --mount-proc="$chroot_dir/proc" \
        chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/build LC_ALL=C.UTF-8 "$@"
}

# Debian's -dev packages are versioned like the Go modules, v0.36.x for Kubernetes v1.36.x.
minor_36() {
    case "$1" in
        "$2"36.*) ;;
        *) echo "sid now has $3 $1, not 1.36: this script builds 1.36 only" >&2; return 1 ;;
    esac
}

build() {
    if [ "$(id -u)" != 0 ]; then
        echo "needs root: mmdebstrap --mode=root, chroot and unshare" >&2
        return 1
    fi
    if ! command -v mmdebstrap >/dev/null; then
        echo "==> $(date -u +%FT%TZ) installing mmdebstrap"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
    fi
    local mirror
    mirror="$(debian_mirror)"

    echo "==> $(date -u +%FT%TZ) making a sid chroot from $mirror (a few minutes)"
    rm -rf --one-file-system "$chroot_dir"
    # sid's Release file may be past its Valid-Until by this machine's clock.
    mmdebstrap --mode=root --variant=apt \
        --aptopt='Acquire::Check-Valid-Until "false"' \
        --aptopt='APT::Install-Recommends "false"' \
        --include=golang-go,golang-k8s-apiextensions-apiserver-dev,etcd-server,kubectl \
        sid "$chroot_dir" "$mirror"

    local source_version kubectl_version
    source_version="$(in_chroot dpkg-query -W -f="\${Version}" golang-k8s-apiextensions-apiserver-dev)"
    kubectl_version="$(in_chroot dpkg-query -W -f="\${Version}" kubectl)"
    in_chroot dpkg-query -W golang-go golang-k8s-apiextensions-apiserver-dev etcd-server kubectl
    minor_36 "$source_version" 0. golang-k8s-apiextensions-apiserver-dev
    minor_36 "$kubectl_version" 1. kubectl
    # 0.36.4-1 -> v1.36.4, so that /version and the binary version of --emulated-version are the
    # real ones rather than v0.0.0-master.
    local git_version="v1.${source_version#0.}"
    git_version="${git_version%%[-+~]*}"

    echo "==> $(date -u +%FT%TZ) building kube-apiextensions-apiserver $git_version (a few minutes)"
    local package=/build/gopath/src/securequeue/apiserver-1.36
    mkdir -p "$chroot_dir$package"
    cp "$main" "$chroot_dir$package/main.go"
    in_chroot GO111MODULE=off GOPATH=/build/gopath:/usr/share/gocode GOPROXY=off GOTOOLCHAIN=local \
        CGO_ENABLED=0 GOFLAGS= GOCACHE=/build/gocache \
        go build -C "$package" -trimpath -o /build/kube-apiextensions-apiserver \
        -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$git_version"

    mkdir -p "$bin"
    rm -f "$bin/main.go.sha256"
    cp "$chroot_dir/build/kube-apiextensions-apiserver" "$chroot_dir/usr/bin/etcd" "$chroot_dir/usr/bin/kubectl" "$bin/"
    # sid's etcd and kubectl are dynamically linked: check now that bookworm's libc runs them.
    "$bin/etcd" --version
    "$bin/kubectl" version --client
    echo "$stamp" >"$bin/main.go.sha256"
    echo "==> $(date -u +%FT%TZ) done"
}

build >"$log" 2>&1
echo "$cache"
