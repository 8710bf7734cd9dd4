"""Checks two features of tests/emulator/moto_server.py against a running emulator, with boto3:
the state kept across emulator_restart, and the two ways of counting a quota.

Usage: python3 tests/emulator/check_emulator.py

It starts its own emulators with tests/emulator/emulator.sh (so it writes target/moto.log, as
any test run does; run it while no other emulator of this checkout runs) and takes about 30 s:
1. with SECUREQUEUE_EMULATOR_STATE set, makes KMS keys (tags, aliases, a policy, rotation, one
   disabled, one scheduled for deletion, one made with AssumeRole credentials in another
   account) and SQS queues (attributes, a policy, tags, a dead-letter queue, a message), and
   encrypts a secret; after emulator_restart, every describe/list answer is the same, the secret
   decrypts, the AssumeRole credentials still act in their account, the recorder's log is the
   same, and new keys and queues take ids no old one has;
2. with SECUREQUEUE_EMULATOR_QUOTA_COUNTING=sliding and a quota of 5 requests per second, six
   calls 0.19 s apart have the sixth throttled (five passed within the last second), while the
   token bucket lets all six pass; calls 0.22 s apart all pass the sliding window.
The phases run as `check_emulator.py PHASE DIR` in the emulator's Python, which has boto3.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
OTHER_ACCOUNT = "444455556666"
REGIONS = ("us-east-1", "eu-west-3")


def driver() -> None:
    """Runs the phases between emulator_start, emulator_restart and emulator_stop."""
    work = tempfile.mkdtemp(prefix="check-emulator-")
    script = f"""
set -euo pipefail
source "{HERE}/emulator.sh"
trap emulator_stop EXIT
check() {{ "$SECUREQUEUE_TEST_PYTHON" "{HERE}/check_emulator.py" "$@" "{work}"; }}
echo "== state across emulator_restart"
SECUREQUEUE_EMULATOR_STATE="{work}/state.pickle" emulator_start
check before
emulator_restart
check after
emulator_stop
echo "== quota counting"
SECUREQUEUE_EMULATOR_QUOTAS="kms:CreateKey=5" SECUREQUEUE_EMULATOR_QUOTA_COUNTING=sliding emulator_start
check quotas
"""
    result = subprocess.run(["bash", "-c", script], check=False)
    if result.returncode != 0:
        sys.exit(f"check_emulator.py: FAILED (the phases' files are in {work})")
    shutil.rmtree(work)
    print("check_emulator.py: all checks passed")


def client(service, region="us-east-1", credentials=None, **config):
    import boto3
    from botocore.config import Config

    keys = {}
    if credentials:
        keys = dict(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    return boto3.client(
        service, endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=region, config=Config(**config), **keys
    )


def control(path, method="GET", body=None):
    request = urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL"] + path, method=method, data=body and json.dumps(body).encode()
    )
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def expect(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        sys.exit(1)


def make(work) -> None:
    """Phase `before`: makes the resources, and writes what the emulator shows of them."""
    made = {"keys": {}, "queues": {}}
    for region in REGIONS:
        kms = client("kms", region)
        rotated = kms.create_key(Description=f"rotated in {region}", Tags=[{"TagKey": "team", "TagValue": "a"}])
        rotated = rotated["KeyMetadata"]
        kms.create_alias(AliasName="alias/check/rotated", TargetKeyId=rotated["KeyId"])
        kms.tag_resource(KeyId=rotated["KeyId"], Tags=[{"TagKey": "added", "TagValue": "later"}])
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Admins",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:role/admin"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
        kms.put_key_policy(KeyId=rotated["KeyId"], PolicyName="default", Policy=json.dumps(policy))
        kms.enable_key_rotation(KeyId=rotated["KeyId"], RotationPeriodInDays=180)
        disabled = kms.create_key(Description="disabled")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/check/disabled", TargetKeyId=disabled)
        kms.disable_key(KeyId=disabled)
        doomed = kms.create_key(Description="doomed")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/check/doomed", TargetKeyId=doomed)
        kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
        secret = kms.encrypt(KeyId=rotated["KeyId"], Plaintext=b"kept across the restart")["CiphertextBlob"]
        made["keys"][region] = {"rotated": rotated["KeyId"], "secret": secret.hex()}

        sqs = client("sqs", region)
        dead = sqs.create_queue(QueueName="check-dead", tags={"role": "dlq"})["QueueUrl"]
        dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = {
            "VisibilityTimeout": "45",
            "MessageRetentionPeriod": "86400",
            "KmsMasterKeyId": "alias/check/rotated",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": "4"}),
        }
        main = sqs.create_queue(QueueName="check-main", Attributes=attributes, tags={"team": "a"})["QueueUrl"]
        main_arn = sqs.get_queue_attributes(QueueUrl=main, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": main_arn}],
        }
        sqs.set_queue_attributes(QueueUrl=main, Attributes={"Policy": json.dumps(queue_policy)})
        allow = json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [main_arn]})
        sqs.set_queue_attributes(QueueUrl=dead, Attributes={"RedriveAllowPolicy": allow})
        sqs.tag_queue(QueueUrl=main, Tags={"added": "later"})
        sqs.create_queue(QueueName="check.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})
        sqs.send_message(QueueUrl=main, MessageBody="waiting across the restart")

    role = f"arn:aws:iam::{OTHER_ACCOUNT}:role/check"
    credentials = client("sts").assume_role(RoleArn=role, RoleSessionName="check")["Credentials"]
    credentials = {k: credentials[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
    client("kms", credentials=credentials).create_key(Description=f"in {OTHER_ACCOUNT}")
    made["credentials"] = credentials

    made["shown"] = shown(credentials)
    status, made["recorded"] = control("/_securequeue/requests")
    expect(made["shown"]["kms"]["us-east-1"]["keys"], "made keys, aliases, queues and an assumed role")
    with open(os.path.join(work, "before.json"), "w") as file:
        json.dump(made, file, default=str)


def shown(credentials) -> dict:
    """What describe and list calls show of every key, alias and queue."""
    seen = {"kms": {}, "sqs": {}}
    for region in REGIONS:
        kms = client("kms", region)
        aliases = kms.list_aliases()["Aliases"]
        keys = {}
        for key in kms.list_keys()["Keys"]:
            key_id = key["KeyId"]
            keys[key_id] = {
                "metadata": kms.describe_key(KeyId=key_id)["KeyMetadata"],
                "policy": kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"],
                "rotation": kms.get_key_rotation_status(KeyId=key_id),
                "tags": kms.list_resource_tags(KeyId=key_id)["Tags"],
            }
            keys[key_id]["rotation"].pop("ResponseMetadata")
        seen["kms"][region] = {"aliases": aliases, "keys": keys}
        sqs = client("sqs", region)
        queues = {}
        for url in sqs.list_queues().get("QueueUrls", []):
            queues[url] = {
                "attributes": sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"],
                "tags": sqs.list_queue_tags(QueueUrl=url).get("Tags", {}),
            }
        seen["sqs"][region] = queues
    other = client("kms", credentials=credentials)
    seen["other"] = {
        "keys": [k["KeyId"] for k in other.list_keys()["Keys"]],
        "caller": client("sts", credentials=credentials).get_caller_identity()["Arn"],
    }
    return json.loads(json.dumps(seen, default=str))


def compare(work) -> None:
    """Phase `after`: the emulator shows the same as before the restart, and makes new ids."""
    with open(os.path.join(work, "before.json")) as file:
        before = json.load(file)
    status, recorded = control("/_securequeue/requests")
    expect(recorded == before["recorded"], f"the recorder's log of {len(recorded)} requests is kept")
    after = shown(before["credentials"])
    for region in REGIONS:
        old, new = before["shown"]["kms"][region], after["kms"][region]
        expect(old == new, f"{region}: {len(new['keys'])} KMS keys (metadata, policy, rotation, tags)"
               f" and {len(new['aliases'])} aliases are the same")
        states = sorted(k["metadata"]["KeyState"] for k in new["keys"].values())
        expect("PendingDeletion" in states and "Disabled" in states, f"{region}: key states {states}")
        old, new = before["shown"]["sqs"][region], after["sqs"][region]
        expect(old == new, f"{region}: {len(new)} SQS queues (all attributes, tags) are the same")
        main = next(q for url, q in new.items() if url.endswith("/check-main"))
        expect(main["attributes"]["ApproximateNumberOfMessages"] == "1" and "Policy" in main["attributes"],
               f"{region}: the queue keeps its policy and its message")
        kept = before["keys"][region]
        plain = client("kms", region).decrypt(CiphertextBlob=bytes.fromhex(kept["secret"]))["Plaintext"]
        expect(plain == b"kept across the restart", f"{region}: data encrypted before the restart decrypts")
    expect(before["shown"]["other"] == after["other"],
           f"AssumeRole credentials still act as {after['other']['caller']}, with their key")

    kms, sqs = client("kms"), client("sqs")
    old_keys = set(before["shown"]["kms"]["us-east-1"]["keys"])
    new_keys = {kms.create_key(Description="after the restart")["KeyMetadata"]["KeyId"] for _ in range(3)}
    expect(not new_keys & old_keys and len(kms.list_keys()["Keys"]) == len(old_keys) + 3,
           "keys made after the restart take new ids")
    url = sqs.create_queue(QueueName="check-after")["QueueUrl"]
    queues = sqs.list_queues()["QueueUrls"]
    expect(url in queues and len(queues) == len(before["shown"]["sqs"]["us-east-1"]) + 1,
           "a queue made after the restart joins the old ones")
    message = sqs.receive_message(QueueUrl=next(u for u in queues if u.endswith("/check-main")))["Messages"][0]
    expect(message["Body"] == "waiting across the restart", "the message sent before the restart is received")


def paced(operation, gap: float, calls: int, region: str) -> list:
    """Makes `calls` calls of `operation` `gap` seconds apart by the clock (each from a thread of
    its own, so a slow answer delays no later call); whether each passed the quota."""
    clients = [client("kms", region, retries={"total_max_attempts": 1}) for _ in range(calls)]
    for kms in clients:
        kms.list_aliases()  # the connection, ready
    passed = [None] * calls
    start = time.monotonic() + 0.2

    def call(index):
        kms = clients[index]
        time.sleep(max(0.0, start + index * gap - time.monotonic()))
        try:
            operation(kms)
            passed[index] = True
        except kms.exceptions.ClientError as error:
            passed[index] = error.response["Error"]["Code"]
            if error.response["Error"]["Code"] == "ThrottlingException":
                passed[index] = False

    threads = [threading.Thread(target=call, args=(index,)) for index in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return passed


def arrivals(operation: str, calls: int) -> list:
    """When the emulator's recorder saw the last `calls` calls of `operation`, in seconds from the
    first of them."""
    status, recorded = control("/_securequeue/requests")
    times = [r["at"] for r in recorded if r["operation"] == operation][-calls:]
    return [t - times[0] for t in times]


def shown_times(times) -> str:
    return "arrived at " + ", ".join(f"{t:.3f}" for t in times) + " s"


def busiest_second(times, passed) -> int:
    """The most passes within one second, (t - 1 s, t] for any t."""
    passes = [t for t, ok in zip(times, passed) if ok]
    return max(sum(1 for u in passes if t - 1 < u <= t) for t in passes)


def quotas(work) -> None:
    """Phase `quotas`: the sliding window against the token bucket, at a quota of 5 a second."""
    status, answer = control("/_securequeue/quotas")
    expect(answer["counting"] == "sliding" and answer["quotas"] == {"*": {"kms:CreateKey": 5}},
           "SECUREQUEUE_EMULATOR_QUOTA_COUNTING=sliding at start-up, shown by GET")

    def create(kms):
        kms.create_key(Description="paced")

    passed = paced(create, 0.15, 6, "us-east-1")
    times = arrivals("CreateKey", 6)
    expect(passed == [True] * 5 + [False] and times[-1] < 1,
           f"sliding, kms:CreateKey=5, 6 calls 0.15 s apart: {passed} ({shown_times(times)})")
    status, answer = control("/_securequeue/quotas", "POST", {"counting": "bucket"})
    expect(status == 200 and answer["counting"] == "bucket", "POST {\"counting\": \"bucket\"}")
    passed = paced(create, 0.15, 6, "us-west-2")
    expect(passed == [True] * 6, f"bucket, the same: {passed} ({shown_times(arrivals('CreateKey', 6))})")
    setting = {"counting": "sliding", "region": "eu-central-1", "quotas": {"kms:ListKeys": 5}}
    status, answer = control("/_securequeue/quotas", "POST", setting)
    expect(status == 200 and answer["counting"] == "sliding" and answer["quotas"]["eu-central-1"],
           "POST {\"counting\": \"sliding\"} with a region's quotas, kms:ListKeys=5")

    def list_keys(kms):
        kms.list_keys()

    for counting, region in (("sliding", "ca-central-1"), ("bucket", "sa-east-1")):
        control("/_securequeue/quotas", "POST", {"counting": counting, "region": region,
                                                 "quotas": {"kms:ListKeys": 5}})
        passed = paced(list_keys, 0.19, 6, region)
        times = arrivals("ListKeys", 6)
        wanted = [True] * 5 + [counting == "bucket" or times[-1] >= 1]
        expect(passed == wanted, f"{counting}, kms:ListKeys=5, 6 calls 0.19 s apart: {passed} ({shown_times(times)})")
    control("/_securequeue/quotas", "POST", setting)
    passed = paced(list_keys, 0.22, 16, "eu-central-1")
    times = arrivals("ListKeys", 16)
    gap = min(later - earlier for earlier, later in zip(times, times[5:]))
    expect(all(passed) and gap > 1, f"sliding, 16 calls 0.22 s apart all pass (any 6 span {gap:.3f} s or more)")
    counts = control("/_securequeue/quotas")[1]["counts"]["eu-central-1"]["kms:ListKeys"]
    expect(counts == {"allowed": 16, "throttled": 0}, f"counted: {counts}")
    for counting, region in (("sliding", "ap-south-1"), ("bucket", "ap-northeast-1")):
        control("/_securequeue/quotas", "POST", {"counting": counting, "region": region,
                                                 "quotas": {"kms:ListKeys": 5}})
        passed = paced(list_keys, 0.05, 30, region)
        busiest = busiest_second(arrivals("ListKeys", 30), passed)
        expect(busiest <= 5 if counting == "sliding" else busiest > 5,
               f"{counting}, 30 calls 0.05 s apart: {passed.count(True)} pass, at most {busiest} in one second")
    status, answer = control("/_securequeue/quotas", "POST", {"counting": "leaky"})
    expect(status == 400 and "leaky" in answer["error"], f"a bad counting is refused: {answer['error']}")
    control("/_securequeue/quotas", "POST", {"counting": "bucket"})
    status, answer = control("/_securequeue/quotas", "DELETE")
    expect(answer["counting"] == "sliding" and answer["quotas"] == {"*": {"kms:CreateKey": 5}},
           "DELETE puts the start-up counting back")


if __name__ == "__main__":
    if len(sys.argv) == 1:
        driver()
    else:
        {"before": make, "after": compare, "quotas": quotas}[sys.argv[1]](sys.argv[2])
