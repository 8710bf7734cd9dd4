#!/usr/bin/env bash
# Proves what the Dockerfile promises of the operator image (tests/image/build-image.sh builds
# it), under the restrictions the chart's securityContext sets (--read-only, --cap-drop ALL,
# no-new-privileges), without network:
#   - its config runs it as the numeric user 65532:65532, and its running process, read from the
#     host's /proc, has uid and gid 65532, no capabilities, no_new_privs and a read-only root;
#   - it has no shell: none in its filesystem, and `--entrypoint /bin/sh` does not start;
#   - `securequeue --version` names the commit the checkout is at (or COMMIT);
#   - its binary carries cargo-auditable's dependency list (.dep-v0), whose crates and versions
#     are the Cargo.lock's, with securequeue at its root.
# Usage: check-image.sh [IMAGE [COMMIT]] (default $SECUREQUEUE_IMAGE, `git rev-parse HEAD`).
# Each check says what it found; the first that fails ends the script non-zero.
set -euo pipefail
shopt -s inherit_errexit
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=tests/image/podman.sh
source "$here/podman.sh"

image="${1:-$SECUREQUEUE_IMAGE}"
commit="${2:-$(git -C "$root" rev-parse HEAD)}"
RESTRICTED=(--network none --read-only --cap-drop ALL --security-opt no-new-privileges)
container=""
mounted=""
scratch="$(mktemp -d)"

fail() {
    echo "check-image.sh: FAIL: $*" >&2
    exit 1
}

cleanup() {
    if [ -n "$container" ]; then
        image_podman rm --force --time 0 "$container" >/dev/null
    fi
    if [ -n "$mounted" ]; then
        image_podman image unmount "$image" >/dev/null
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT

check_config() {
    local user
    user="$(image_podman image inspect --format '{{.Config.User}}' "$image")"
    [ "$user" = "65532:65532" ] || fail "the image's user is '$user', not 65532:65532"
    echo "ok: the image's config runs it as $user"
}

# The operator blocked reading its input (plan -f -), so that its process can be looked at.
check_process() {
    local pid status
    container="$(image_podman run --detach --interactive "${RESTRICTED[@]}" "$image" \
        plan -f - --operator-role-arn arn:aws:iam::111122223333:role/securequeue)"
    pid="$(image_podman inspect --format '{{.State.Pid}}' "$container")"
    [ "$pid" -gt 0 ] || fail "the operator's container is not running: $(image_podman logs "$container")"
    status="$(cat "/proc/$pid/status")"
    grep -Eq '^Uid:\s+65532\s+65532\s+65532\s+65532$' <<<"$status" \
        || fail "the process's uids: $(grep '^Uid:' <<<"$status")"
    grep -Eq '^Gid:\s+65532\s+65532\s+65532\s+65532$' <<<"$status" \
        || fail "the process's gids: $(grep '^Gid:' <<<"$status")"
    grep -Eq '^CapEff:\s+0+$' <<<"$status" || fail "capabilities: $(grep '^CapEff:' <<<"$status")"
    grep -Eq '^CapPrm:\s+0+$' <<<"$status" || fail "capabilities: $(grep '^CapPrm:' <<<"$status")"
    grep -Eq '^NoNewPrivs:\s+1$' <<<"$status" || fail "no_new_privs is not set"
    # mountinfo's sixth field: the mount's own options; the root is the one mounted on /.
    awk '$5 == "/" { print $6 }' "/proc/$pid/mountinfo" | grep -Eq '^ro(,|$)' \
        || fail "the root filesystem is writable: $(awk '$5 == "/"' "/proc/$pid/mountinfo")"
    echo "ok: the running operator has uid and gid 65532, no capabilities, no_new_privs, a read-only root"
    image_podman rm --force --time 0 "$container" >/dev/null
    container=""
}

check_no_shell() {
    local fs shells output
    mounted=yes
    fs="$(image_podman image mount "$image")"
    shells="$(find "$fs" \( -name sh -o -name bash -o -name dash -o -name ash -o -name zsh \
        -o -name busybox -o -name toybox \) -printf '/%P\n')"
    [ -z "$shells" ] || fail "the image has shells: $shells"
    image_podman image unmount "$image" >/dev/null
    mounted=""
    if output="$(image_podman run --rm "${RESTRICTED[@]}" --entrypoint /bin/sh "$image" -c true 2>&1)"; then
        fail "/bin/sh ran in the image"
    fi
    grep -q "no such file or directory" <<<"$output" \
        || fail "/bin/sh failed to start, but not for its absence: $output"
    echo "ok: no shell in the image, and --entrypoint /bin/sh does not start"
}

check_version() {
    local version
    version="$(image_podman run --rm "${RESTRICTED[@]}" "$image" --version)"
    [ "$version" = "securequeue $(crate_version) (commit $commit)" ] \
        || fail "--version prints '$version', not commit $commit"
    echo "ok: $version"
}

crate_version() {
    sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1
}

check_dependency_list() {
    local fs
    mounted=yes
    fs="$(image_podman image mount "$image")"
    # objcopy only warns, and exits 0, when the section is missing.
    objcopy --dump-section ".dep-v0=$scratch/dep-v0" "$fs/usr/local/bin/securequeue" "$scratch/copy" 2>/dev/null
    [ -s "$scratch/dep-v0" ] || fail "the binary has no .dep-v0 section: not built with cargo auditable"
    image_podman image unmount "$image" >/dev/null
    mounted=""
    python3 "$here/dependency_list.py" "$scratch/dep-v0" "$root/Cargo.lock" "$(crate_version)"
}

check_config
check_process
check_no_shell
check_version
check_dependency_list
echo "the image $image holds"
