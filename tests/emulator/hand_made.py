"""Makes AWS resources in the emulator as a team would by hand, with boto3 rather than
securequeue, for the brownfield tests (Observe, diff, Adopt). Prints what it made.

Usage:
  hand_made.py queue NAME POLICY_JSON [KMS_KEY] [TAGS_JSON]   prints the queue URL
  hand_made.py key ALIAS [enabled|disabled|pending-deletion]   prints the key id
"""

import json
import os
import sys

import boto3


def client(service):
    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")


def queue(name, policy, kms_key=None, tags=None):
    sqs = client("sqs")
    attributes = {}
    if kms_key:
        attributes["KmsMasterKeyId"] = kms_key
    url = sqs.create_queue(QueueName=name, Attributes=attributes, tags=json.loads(tags or "{}"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy.replace("QUEUE_ARN", arn)})
    print(url)


def key(alias, state="enabled"):
    kms = client("kms")
    key_id = kms.create_key(Description="made by hand")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    if state == "disabled":
        kms.disable_key(KeyId=key_id)
    elif state == "pending-deletion":
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    print(key_id)


if __name__ == "__main__":
    {"queue": queue, "key": key}[sys.argv[1]](*sys.argv[2:])
