# Sourced by tests/run.sh and deploy/demo.sh: installs the moto AWS emulator into a virtualenv
# under target/ (once), starts it on a free loopback port with tests/emulator/moto_server.py, and
# points the AWS SDK at it with static test credentials. The caller's EXIT trap stops it.
#
# Quota mode: set SECUREQUEUE_EMULATOR_QUOTAS before emulator_start, e.g.
# SECUREQUEUE_EMULATOR_QUOTAS=aws, and the emulator throttles calls beyond AWS's documented
# default request quotas per region as AWS does; `aws,kms:CreateKey=20,sqs:CreateQueue=50` adds
# overrides. Unset or empty: no quotas. See tests/emulator/moto_server.py, which also serves
# per-region quotas at run time on /_securequeue/quotas.

MOTO_VERSION="5.2.5"
# The account the emulator plays for the static test credentials, the one deploy/examples/ name;
# credentials from STS AssumeRole act in the role's account.
EMULATOR_ACCOUNT_ID="111122223333"

emulator_start() {
    local root venv port
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    venv="$root/target/moto-venv-$MOTO_VERSION"
    mkdir -p "$root/target"
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import moto" 2>/dev/null; then
        echo "==> installing moto[server]==$MOTO_VERSION into $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    fi
    port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    if [ -n "${SECUREQUEUE_EMULATOR_QUOTAS:-}" ]; then
        echo "==> emulator quota mode: SECUREQUEUE_EMULATOR_QUOTAS=$SECUREQUEUE_EMULATOR_QUOTAS"
    fi
    SECUREQUEUE_EMULATOR_ACCOUNT_ID="$EMULATOR_ACCOUNT_ID" SECUREQUEUE_EMULATOR_QUOTAS="${SECUREQUEUE_EMULATOR_QUOTAS:-}" \
        "$venv/bin/python" "$root/tests/emulator/moto_server.py" "$port" >"$root/target/moto.log" 2>&1 &
    EMULATOR_PID=$!
    EMULATOR_VENV="$venv"
    export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
    export SECUREQUEUE_TEST_AWS_ENDPOINT="$AWS_ENDPOINT_URL"
    # The emulator's Python, with boto3: tests make "hand-made" resources with it.
    export SECUREQUEUE_TEST_PYTHON="$venv/bin/python"
    export AWS_ACCESS_KEY_ID="testing" AWS_SECRET_ACCESS_KEY="testing" AWS_SESSION_TOKEN="testing"
    export AWS_REGION="us-east-1" AWS_EC2_METADATA_DISABLED="true"
    unset AWS_PROFILE AWS_DEFAULT_PROFILE
    "$venv/bin/python" - "$AWS_ENDPOINT_URL" <<'PY'
import sys, time, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit("the moto emulator did not start; see target/moto.log")
PY
    echo "==> moto $MOTO_VERSION listening on $AWS_ENDPOINT_URL (pid $EMULATOR_PID)"
}

emulator_stop() {
    if [ -n "${EMULATOR_PID:-}" ]; then
        kill "$EMULATOR_PID" 2>/dev/null || true
        wait "$EMULATOR_PID" 2>/dev/null || true
        EMULATOR_PID=""
    fi
}
