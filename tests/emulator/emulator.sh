# Sourced by tests/run.sh and deploy/demo.sh: installs the moto AWS emulator into a virtualenv
# under target/ (once), starts it on a free loopback port with tests/emulator/moto_server.py, and
# points the AWS SDK at it with static test credentials. The caller's EXIT trap stops it.
#
# Address: SECUREQUEUE_EMULATOR_HOST, an IPv4 address of this machine (default 127.0.0.1), is
# where it listens and what AWS_ENDPOINT_URL names: pods, which resolve no names and cannot reach
# the machine's loopback, are given the machine's own address (tests/node/e2e.sh).
#
# Quota mode: set SECUREQUEUE_EMULATOR_QUOTAS before emulator_start, e.g.
# SECUREQUEUE_EMULATOR_QUOTAS=aws, and the emulator throttles calls beyond AWS's documented
# default request quotas per region as AWS does; `aws,kms:CreateKey=20,sqs:CreateQueue=50` adds
# overrides. Unset or empty: no quotas. SECUREQUEUE_EMULATOR_QUOTA_COUNTING says how a quota's
# "N requests per second" is counted: `bucket` (unset or empty: a token bucket, which lets a
# burst through after a pause) or `sliding` (at most N passes in any one second); anything else
# stops the emulator at start-up. See tests/emulator/moto_server.py, which also serves per-region
# quotas and the counting at run time on /_securequeue/quotas.
#
# State across a restart: set SECUREQUEUE_EMULATOR_STATE=FILE before emulator_start (a relative
# FILE is taken from the current directory) and the emulator loads FILE when it starts, if FILE
# exists, and saves its KMS, SQS, STS and IAM state and its request log to FILE when it stops
# (emulator_stop or emulator_restart). Then emulator_restart stops the emulator and starts it
# again on the same port, with the same settings as emulator_start gave it, so clients keep
# their endpoint and find their keys and queues. FILE outlives the run: remove it, or name a new
# one, for an empty emulator. Without SECUREQUEUE_EMULATOR_STATE nothing is saved, and
# emulator_restart refuses rather than start an empty emulator in place of the old one.

MOTO_VERSION="5.2.5"
# The account the emulator plays for the static test credentials, the one deploy/examples/ name;
# credentials from STS AssumeRole act in the role's account.
EMULATOR_ACCOUNT_ID="111122223333"
# The checkout, found when this file is sourced, so that a later cd does not lose it.
EMULATOR_CHECKOUT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

emulator_start() {
    local root="$EMULATOR_CHECKOUT" venv
    venv="$root/target/moto-venv-$MOTO_VERSION"
    mkdir -p "$root/target"
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import moto" 2>/dev/null; then
        echo "==> installing moto[server]==$MOTO_VERSION into $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    fi
    # What emulator_restart starts the emulator again with.
    EMULATOR_ROOT="$root"
    EMULATOR_VENV="$venv"
    EMULATOR_HOST="${SECUREQUEUE_EMULATOR_HOST:-127.0.0.1}"
    EMULATOR_PORT="$("$venv/bin/python" -c 'import socket, sys; s = socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' "$EMULATOR_HOST")"
    EMULATOR_QUOTAS="${SECUREQUEUE_EMULATOR_QUOTAS:-}"
    EMULATOR_QUOTA_COUNTING="${SECUREQUEUE_EMULATOR_QUOTA_COUNTING:-}"
    EMULATOR_STATE="${SECUREQUEUE_EMULATOR_STATE:-}"
    if [ -n "$EMULATOR_STATE" ] && [ "${EMULATOR_STATE#/}" = "$EMULATOR_STATE" ]; then
        EMULATOR_STATE="$PWD/$EMULATOR_STATE"
    fi
    if [ -n "$EMULATOR_QUOTAS$EMULATOR_QUOTA_COUNTING" ]; then
        echo "==> emulator quota mode: SECUREQUEUE_EMULATOR_QUOTAS=$EMULATOR_QUOTAS SECUREQUEUE_EMULATOR_QUOTA_COUNTING=${EMULATOR_QUOTA_COUNTING:-bucket}"
    fi
    if [ -e "$EMULATOR_STATE" ]; then
        echo "==> emulator state: loaded from and saved to $EMULATOR_STATE"
    elif [ -n "$EMULATOR_STATE" ]; then
        echo "==> emulator state: saved to $EMULATOR_STATE (none there yet)"
    fi
    : >"$root/target/moto.log"
    export AWS_ENDPOINT_URL="http://$EMULATOR_HOST:$EMULATOR_PORT"
    export SECUREQUEUE_TEST_AWS_ENDPOINT="$AWS_ENDPOINT_URL"
    # The emulator's Python, with boto3: tests make "hand-made" resources with it.
    export SECUREQUEUE_TEST_PYTHON="$venv/bin/python"
    export AWS_ACCESS_KEY_ID="testing" AWS_SECRET_ACCESS_KEY="testing" AWS_SESSION_TOKEN="testing"
    export AWS_REGION="us-east-1" AWS_EC2_METADATA_DISABLED="true"
    unset AWS_PROFILE AWS_DEFAULT_PROFILE
    emulator_launch
}

# Starts moto_server.py on $EMULATOR_PORT with the settings emulator_start recorded, appending
# to target/moto.log, and waits until it answers (or has died: then shows the log's end).
emulator_launch() {
    SECUREQUEUE_EMULATOR_ACCOUNT_ID="$EMULATOR_ACCOUNT_ID" SECUREQUEUE_EMULATOR_QUOTAS="$EMULATOR_QUOTAS" \
        SECUREQUEUE_EMULATOR_QUOTA_COUNTING="$EMULATOR_QUOTA_COUNTING" SECUREQUEUE_EMULATOR_STATE="$EMULATOR_STATE" \
        "$EMULATOR_VENV/bin/python" "$EMULATOR_ROOT/tests/emulator/moto_server.py" "$EMULATOR_PORT" "$EMULATOR_HOST" \
        >>"$EMULATOR_ROOT/target/moto.log" 2>&1 &
    EMULATOR_PID=$!
    "$EMULATOR_VENV/bin/python" - "$AWS_ENDPOINT_URL" "$EMULATOR_PID" "$EMULATOR_ROOT/target/moto.log" <<'PY' || return 1
import sys, time, urllib.request
endpoint, pid, log = sys.argv[1], sys.argv[2], sys.argv[3]

def alive():
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False

for _ in range(300):
    try:
        urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
        sys.exit(0)
    except Exception:
        if not alive():
            break
        time.sleep(0.1)
with open(log) as lines:
    sys.stderr.writelines(lines.readlines()[-5:])
sys.exit(f"the moto emulator did not start; see {log}")
PY
    echo "==> moto $MOTO_VERSION listening on $AWS_ENDPOINT_URL (pid $EMULATOR_PID)"
}

# Stops the emulator (which saves its state, given SECUREQUEUE_EMULATOR_STATE) and starts it
# again on the same port with the same settings, loading that state.
emulator_restart() {
    local status=0
    if [ -z "${EMULATOR_PORT:-}" ]; then
        echo "emulator_restart: no emulator to restart: call emulator_start first" >&2
        return 1
    fi
    if [ -z "$EMULATOR_STATE" ]; then
        echo "emulator_restart: the emulator keeps no state:" \
            "set SECUREQUEUE_EMULATOR_STATE=FILE before emulator_start" >&2
        return 1
    fi
    if [ -n "${EMULATOR_PID:-}" ]; then
        kill -TERM "$EMULATOR_PID" 2>/dev/null || true
        wait "$EMULATOR_PID" 2>/dev/null || status=$?
        EMULATOR_PID=""
        if [ "$status" -ne 0 ]; then
            echo "emulator_restart: the emulator exited with status $status without saving its state;" \
                "see $EMULATOR_ROOT/target/moto.log" >&2
            return 1
        fi
    fi
    echo "==> restarting the emulator on $AWS_ENDPOINT_URL with the state in $EMULATOR_STATE"
    emulator_launch
}

emulator_stop() {
    if [ -n "${EMULATOR_PID:-}" ]; then
        kill "$EMULATOR_PID" 2>/dev/null || true
        wait "$EMULATOR_PID" 2>/dev/null || true
        EMULATOR_PID=""
    fi
}
