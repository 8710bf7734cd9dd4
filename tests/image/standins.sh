#!/usr/bin/env bash
# Makes the base images the Dockerfile's FROM lines name, which cannot be pulled here (only
# Debian's archive and the package registries are reachable), as stand-ins with the same names
# in the image tier's podman storage (tests/image/podman.sh), from Debian bookworm. Once: later
# runs find them there, labelled with a hash of this script (and of the Rust toolchain), and make
# them again only when that changes.
#   gcr.io/distroless/cc-debian12:nonroot  what distroless ships, as distroless builds it: the
#       packages' files extracted without dependencies or maintainer scripts (glibc, libgcc,
#       libstdc++, libgomp, libssl, base-files, netbase, tzdata; no shell, no package manager),
#       Debian's CA bundle, the user nonroot (65532) and distroless's image config.
#   rust:<version>-bookworm                a minbase bookworm (mmdebstrap) with gcc and libc6-dev,
#       this machine's own Rust toolchain (its version must be the tag's) where the official
#       image has it (RUSTUP_HOME=/usr/local/rustup, CARGO_HOME=/usr/local/cargo), and this
#       machine's CA bundle: crates come through a TLS-intercepting proxy here, and a stand-in,
#       not the Dockerfile, is where a site's trust belongs.
# Needs root (apt-get, mmdebstrap, podman). Prints nothing but progress, on stderr.
set -euo pipefail
shopt -s inherit_errexit
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tests/image/podman.sh
source "$here/podman.sh"

DISTROLESS_PACKAGES=(base-files netbase tzdata libc6 libgcc-s1 libgomp1 libstdc++6 libssl3)
DEBIAN_SOURCES=/etc/apt/sources.list.d/debian.sources

main() {
    local image images
    mapfile -t images < <(sed -n 's/^FROM \([^ ]*\).*/\1/p' "$here/../../Dockerfile")
    for image in "${images[@]}"; do
        case "$image" in
            gcr.io/distroless/cc-debian12:nonroot)
                ensure "$image" "$(recipe)" make_distroless ;;
            rust:*-bookworm)
                ensure "docker.io/library/$image" "$(recipe "$(rustc -vV)")" make_rust "${image#rust:}" ;;
            *) echo "standins.sh: no stand-in recipe for FROM $image" >&2
               return 1 ;;
        esac
    done
}

# The label a stand-in carries: this script and whatever else went into it.
recipe() {
    { cat "${BASH_SOURCE[0]}"; printf '%s\n' "$@"; } | sha256sum | cut -c1-16
}

# ensure NAME RECIPE MAKER [ARGS]: runs `MAKER NAME RECIPE WORKDIR [ARGS]` unless NAME exists
# with that recipe.
ensure() {
    local name="$1" recipe="$2" maker="$3" work
    shift 3
    if [ "$(image_podman image inspect --format '{{index .Labels "io.securequeue.standin"}}' \
            "$name" 2>/dev/null)" = "$recipe" ]; then
        return 0
    fi
    echo "==> making the stand-in $name" >&2
    work="$(mktemp -d "$IMAGE_CACHE/tmp/standin.XXXXXX")"
    "$maker" "$name" "$recipe" "$work" "$@"
    rm -rf "$work"
    work=""
}

make_distroless() {
    local name="$1" recipe="$2" work="$3" root="$3/root" deb
    mkdir -p "$work/debs" "$root/var/lib/dpkg/status.d" "$work/ca"
    # apt's own user could not write under root's home: download as root.
    (cd "$work/debs" && apt-get -o APT::Sandbox::User=root download -qq \
        "${DISTROLESS_PACKAGES[@]}" ca-certificates)
    for deb in "$work"/debs/*.deb; do
        case "$deb" in
            */ca-certificates_*) dpkg-deb -x "$deb" "$work/ca" ;;
            *) dpkg-deb -x "$deb" "$root"
               # What scanners read to know the image's packages, as distroless writes it.
               dpkg-deb -f "$deb" >"$root/var/lib/dpkg/status.d/$(dpkg-deb -f "$deb" Package)" ;;
        esac
    done
    # update-ca-certificates' bundle, without update-ca-certificates (a shell script).
    mkdir -p "$root/etc/ssl/certs"
    cat "$work"/ca/usr/share/ca-certificates/mozilla/*.crt >"$root/etc/ssl/certs/ca-certificates.crt"
    distroless_users "$root"
    tar -C "$root" --numeric-owner -cf - . | image_podman import --quiet \
        --change "USER 65532" \
        --change "WORKDIR /home/nonroot" \
        --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" \
        --change "LABEL io.securequeue.standin=$recipe" \
        - "$name" >/dev/null
}

# distroless's /etc/passwd and /etc/group, homes and /tmp.
distroless_users() {
    local root="$1"
    printf '%s\n' "root:x:0:0:root:/root:/sbin/nologin" \
        "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin" \
        "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin" >"$root/etc/passwd"
    printf '%s\n' "root:x:0:" "nobody:x:65534:" "tty:x:5:" "staff:x:50:" "nonroot:x:65532:" \
        >"$root/etc/group"
    install -d -m 0700 "$root/root"
    install -d -m 0700 -o 65532 -g 65532 "$root/home/nonroot"
    install -d -m 1777 "$root/tmp"
}

make_rust() {
    local name="$1" recipe="$2" work="$3" tag="$4" sysroot version toolchain tool root="$3/root"
    sysroot="$(rustc --print sysroot)"
    version="$(rustc -vV | sed -n 's/^release: //p')"
    case "$version" in
        "${tag%-bookworm}" | "${tag%-bookworm}".*) ;;
        *) echo "standins.sh: this machine's Rust is $version, the Dockerfile wants rust:$tag" >&2
           return 1 ;;
    esac
    toolchain="$version-$(rustc -vV | sed -n 's/^host: //p')"
    mmdebstrap --quiet --variant=minbase --include=gcc,libc6-dev bookworm "$root" "$DEBIAN_SOURCES"
    # The toolchain without its 800 MB of HTML documentation, and rustup's proxies for its tools.
    mkdir -p "$root/usr/local/rustup/toolchains/$toolchain" "$root/usr/local/cargo/bin"
    tar -C "$sysroot" --exclude=./share/doc -cf - . \
        | tar -C "$root/usr/local/rustup/toolchains/$toolchain" -xf -
    cp "$(command -v rustup)" "$root/usr/local/cargo/bin/rustup"
    for tool in "$sysroot"/bin/*; do
        ln -s rustup "$root/usr/local/cargo/bin/$(basename "$tool")"
    done
    printf 'version = "12"\ndefault_toolchain = "%s"\nprofile = "minimal"\n' "$toolchain" \
        >"$root/usr/local/rustup/settings.toml"
    mkdir -p "$root/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    tar -C "$root" --numeric-owner -cf - . | image_podman import --quiet \
        --change "ENV RUSTUP_HOME=/usr/local/rustup" \
        --change "ENV CARGO_HOME=/usr/local/cargo" \
        --change "ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change "ENV RUST_VERSION=$version" \
        --change "CMD [\"bash\"]" \
        --change "LABEL io.securequeue.standin=$recipe" \
        - "$name" >/dev/null
}

# A stand-in's work directory (a root file system) goes, made or not.
work=""
trap '[ -z "$work" ] || rm -rf "$work"' EXIT
mkdir -p "$IMAGE_CACHE/tmp"
main
