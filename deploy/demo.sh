#!/usr/bin/env bash
# The main job, offline: validates every example SecureQueue and prints what the operator would
# create in AWS for it (key policy, queue policies, attributes, ordered calls, KMS estimate),
# then shows how a bad manifest is refused. No AWS account and no network are used.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --locked --release
bin=target/release/securequeue
operator=arn:aws:iam::111122223333:role/securequeue-operator

echo "== securequeue plan -f deploy/examples/sns-producer.yaml"
"$bin" plan -f deploy/examples/sns-producer.yaml --operator-role-arn "$operator" --region eu-west-1

for example in deploy/examples/*.yaml; do
  "$bin" plan -f "$example" --operator-role-arn "$operator" --region eu-west-1 >/dev/null
  echo "== $example: valid, planned"
done

echo "== a manifest with a user where a role is required, and a wildcard principal:"
if sed -e 's|role/orders-worker|user/alice|' -e 's|sns:eu-west-1:111122223333:orders-events|sns:eu-west-1:111122223333:*|' \
    deploy/examples/sns-producer.yaml \
  | "$bin" plan -f - --operator-role-arn "$operator" --region eu-west-1; then
  echo "the invalid manifest was accepted" >&2
  exit 1
fi
echo "== refused, as it should be"
