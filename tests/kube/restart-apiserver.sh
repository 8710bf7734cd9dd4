#!/usr/bin/env bash
# Restarts the test API server cluster.sh started, on the same port with the same etcd (so
# nothing stored is lost), and waits until it is ready again: what a control-plane crash does to
# the operator's watches and writes. It is killed (SIGKILL): on SIGTERM this API server waits a
# minute for requests to drain, serving nothing. Used by tests/soak.rs.
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/target/kube"
pid="$(cat "$dir/apiserver.pid")"
kill -KILL "$pid" 2>/dev/null || true
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
bash "$dir/apiserver.sh" >>"$dir/apiserver.log" 2>&1 &
echo "$!" >"$dir/apiserver.pid"
# shellcheck disable=SC2046
python3 "$(dirname "${BASH_SOURCE[0]}")/wait-ready.py" $(cat "$dir/apiserver.ready")
