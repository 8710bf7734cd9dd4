# shellcheck shell=bash
# Sourced by tests/node/node.sh: what node_stop needs beyond stopping processes. The machine's
# state recorded before a start (sysctls, host directories) and restored after; the sweep of
# whatever a stopped or killed node left: pods' processes and shims, mounts, network
# namespaces, the bridge, chains, cgroups. Reads the NODE_* variables node.sh sets.

node__record_machine() {
    local dir="$1" key path
    mkdir -p "$dir/before"
    for key in "${NODE_SYSCTLS[@]}"; do
        if [ -e "/proc/sys/${key//.//}" ]; then
            echo "$key=$(sysctl -n "$key")"
        fi
    done >"$dir/before/sysctls"
    touch "$dir/before/entries"
    for path in "${NODE_KUBELET_DIRS[@]}" "${NODE_SHARED_DIRS[@]}"; do
        if [ -d "$path" ]; then
            echo "$path"
            find "$path" -mindepth 1 -maxdepth 1 >>"$dir/before/entries"
        fi
    done >"$dir/before/dirs"
}

# Another bridge with ports (podman's, say) relies on forwarding as much as the node did.
node__other_bridge_in_use() {
    ip -o link show 2>/dev/null | grep -v "master $NODE_BRIDGE " | grep -q " master "
}

node__restore_sysctls() {
    local dir="$1" line key value
    [ -f "$dir/before/sysctls" ] || return 0
    while IFS= read -r line; do
        key="${line%%=*}"
        value="${line#*=}"
        [ "$(sysctl -n "$key" 2>/dev/null)" = "$value" ] && continue
        if [ "$key" = net.ipv4.ip_forward ] && node__other_bridge_in_use; then
            echo "node.sh: net.ipv4.ip_forward left at 1: another bridge's containers use it" >&2
            continue
        fi
        sysctl -q -w "$key=$value" >/dev/null || echo "node.sh: could not restore $key=$value" >&2
    done <"$dir/before/sysctls"
}

node__restore_host_dirs() {
    local dir="$1" path entry
    [ -f "$dir/before/dirs" ] || return 0
    for path in "${NODE_KUBELET_DIRS[@]}"; do
        [ -d "$path" ] || continue
        if ! grep -qxF "$path" "$dir/before/dirs"; then
            rm -rf --one-file-system "$path"
            continue
        fi
        find "$path" -mindepth 1 -maxdepth 1 | while IFS= read -r entry; do
            grep -qxF "$entry" "$dir/before/entries" || rm -rf --one-file-system "$entry"
        done
    done
    # The CNI library's cached results of the node's network and containerd's loopback network.
    for entry in /var/lib/cni/results/"$NODE_NETWORK"-* /var/lib/cni/results/cni-loopback-*; do
        [ -e "$entry" ] || continue
        grep -qxF "$entry" "$dir/before/entries" || rm -f "$entry"
    done
    for path in "${NODE_SHARED_DIRS[@]}"; do
        if [ -d "$path" ] && ! grep -qxF "$path" "$dir/before/dirs"; then
            rmdir "$path" 2>/dev/null || echo "node.sh: $path was made during the run and is not empty" >&2
        fi
    done
}

# Deleting the pods makes kubelet kill their containers and stop their sandboxes, which runs the
# CNI's DEL (veth, address) and removes their network namespaces: the ordinary path. The
# controllers are stopped first so that nothing recreates them. Done when containerd runs no
# task and no veth is left on the bridge (kubelet confirms the deletions to the API server much
# later, which does not matter here).
node__delete_pods() {
    node__alive kube-apiserver && node__alive kubelet && node__alive containerd || return 0
    node__kubectl delete pods --all --all-namespaces --grace-period 1 --wait=false >/dev/null 2>&1
    local deadline=$((SECONDS + 60))
    while [ -n "$(node__ctr tasks ls -q 2>/dev/null)$(ip -o link show master "$NODE_BRIDGE" 2>/dev/null)" ] &&
        [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.5
    done
}

node__ctr() { ctr -n k8s.io -a "$NODE_CONTAINERD_SOCKET" "$@"; }

# Containers the ordinary path did not remove: deleting them through containerd makes their
# shims unmount the root filesystems and exit, removing their sockets.
node__delete_containers() {
    local id
    node__alive containerd || return 0
    for id in $(node__ctr containers ls -q 2>/dev/null); do
        node__ctr tasks kill -s KILL "$id" >/dev/null 2>&1
        node__ctr tasks delete -f "$id" >/dev/null 2>&1
        node__ctr containers delete "$id" >/dev/null 2>&1
    done
}

node__kubepods_cgroups() {
    find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d -name kubepods 2>/dev/null
}

# What even that left (containerd died, say): processes in the pods' cgroups, then the shims
# serving this containerd's socket, and their sockets, named after a hash of socket, namespace
# and container id.
node__kill_leftover_processes() {
    local cgroup pids proc id
    for cgroup in $(node__kubepods_cgroups); do
        pids="$(find "$cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)"
        for id in $pids; do kill -KILL "$id" 2>/dev/null; done
    done
    for proc in /proc/[0-9]*; do
        [ "$(readlink "$proc/exe" 2>/dev/null)" = /usr/bin/containerd-shim-runc-v2 ] || continue
        grep -qsF -- "$NODE_CONTAINERD_SOCKET" "$proc/cmdline" || continue
        id="$(tr '\0' '\n' <"$proc/cmdline" | sed -n '/^-id$/{n;p}')"
        kill -KILL "${proc#/proc/}" 2>/dev/null
        rm -f "/run/containerd/s/$(printf '%s' "$NODE_CONTAINERD_SOCKET/k8s.io/$id" | sha256sum | cut -d' ' -f1)"
    done
}

node__remove_cgroups() {
    local cgroup
    for cgroup in $(node__kubepods_cgroups); do
        find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null
    done
}

# The veths still on the bridge with their network namespaces (named, or by id), network
# namespaces containerd made during the run (cni-*), then the bridge.
node__remove_network() {
    local dir="$1" veth peer netns
    for veth in $(ip -o link show master "$NODE_BRIDGE" 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
        peer="$(ip -o link show dev "$veth" | sed -n 's/.* link-netns\(id\)\{0,1\} \([^ ]*\).*/\2/p')"
        netns="$(ip netns list 2>/dev/null | awk -v peer="$peer" '$1 == peer || $3 == peer ")" { print $1 }')"
        if [ -n "$peer" ] && [ -n "$netns" ]; then
            ip netns delete "$netns"
        fi
        ip link delete "$veth" 2>/dev/null
    done
    for netns in /run/netns/cni-*; do
        [ -e "$netns" ] || continue
        grep -qxF "$netns" "$dir/before/entries" || ip netns delete "${netns#/run/netns/}"
    done
    ip link delete "$NODE_BRIDGE" 2>/dev/null
}

node__unmount_run_dir() {
    local target
    findmnt -rn -o TARGET | grep -F "$1/" | sort -r | while IFS= read -r target; do
        umount "$target" 2>/dev/null || umount -l "$target"
    done
}
