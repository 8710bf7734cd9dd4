#!/usr/bin/env bash
# The main job, with no AWS account: starts the moto AWS emulator on loopback, converges every
# example SecureQueue with `securequeue apply`, prints what the emulator then holds for one of
# them (key policy, rotation, encryption, queue policies, redrive settings, tags) as read back by
# an independent client, applies again to show that a converged SecureQueue costs reads only,
# shows a bad manifest refused with nothing changed, puts a SecureQueue into a second account
# through a SecureQueueAccount binding (and refuses a namespace the binding does not name), and
# stops the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --locked --release
bin=target/release/securequeue
source tests/emulator/emulator.sh
trap emulator_stop EXIT
emulator_start
export SECUREQUEUE_OPERATOR_ROLE_ARN=arn:aws:iam::111122223333:role/securequeue-operator
export SECUREQUEUE_CLUSTER_ID=demo

echo
echo "== securequeue apply: every example, fresh"
for example in deploy/examples/*.yaml; do
  "$bin" apply -f "$example"
done

echo
echo "== what the emulator holds for shop/orders (deploy/examples/sns-producer.yaml), read with boto3"
"$EMULATOR_VENV/bin/python" deploy/readback.py "$AWS_ENDPOINT_URL" eu-west-1 \
  alias/securequeue/shop/orders shop-orders shop-orders-dlq

echo
echo "== securequeue apply again: nothing to do, so reads only"
for example in deploy/examples/*.yaml; do
  "$bin" apply -f "$example" | grep -E '^[a-z]|Ready  |AWS calls'
done

echo
echo "== a queue policy loosened behind the operator's back is put back on the next apply"
"$EMULATOR_VENV/bin/python" - "$AWS_ENDPOINT_URL" <<'PY'
import sys, boto3
sqs = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="eu-west-1")
url = sqs.get_queue_url(QueueName="shop-orders")["QueueUrl"]
sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"}]}'})
print("set an allow-everyone policy on shop-orders")
PY
"$bin" apply -f deploy/examples/sns-producer.yaml

echo
echo "== a manifest naming a user where a role is required is refused, and nothing is changed"
if sed -e 's|role/orders-worker|user/alice|' deploy/examples/sns-producer.yaml | "$bin" apply -f -; then
  echo "the invalid manifest was accepted" >&2
  exit 1
fi
echo "== refused, as it should be"

echo
echo "== another account: deploy/accounts/accounts.yaml binds 222233334444 to namespace payments"
payments_queue() {
  cat <<YAML
apiVersion: securequeue.io/v1alpha1
kind: SecureQueue
metadata: {name: invoices, namespace: $1}
spec:
  region: eu-west-1
  accountId: "222233334444"
  organizationId: o-abcdefghij
  consumerRoleArns: [arn:aws:iam::222233334444:role/invoice-worker]
YAML
}
payments_queue payments | "$bin" apply --accounts deploy/accounts/accounts.yaml -f - -o json \
  | "$EMULATOR_VENV/bin/python" -c 'import json, sys; r = json.load(sys.stdin)[0]; print(r["name"], r["queueArn"], "encrypted with", r["keyArn"])'
echo "== namespace shop names the same account, which is not bound to it:"
if payments_queue shop | "$bin" apply --accounts deploy/accounts/accounts.yaml -f -; then
  echo "the unbound namespace was let into the account" >&2
  exit 1
fi
echo "== refused before any AWS call, as it should be"
