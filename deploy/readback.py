"""Prints what the AWS emulator holds for one SecureQueue, read with boto3 (not with securequeue),
so the demo shows the real state: the key policy, rotation, alias, and each queue's encryption,
policy, redrive settings and tags.

Usage: readback.py ENDPOINT REGION ALIAS QUEUE DEAD_LETTER_QUEUE
"""

import json
import sys

import boto3


def show(title, value):
    print(f"--- {title}")
    print(json.dumps(value, indent=2, sort_keys=True) if not isinstance(value, str) else value)


def main() -> None:
    endpoint, region, alias, queue, dead_letter = sys.argv[1:6]
    kms = boto3.client("kms", endpoint_url=endpoint, region_name=region)
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=region)

    key = kms.describe_key(KeyId=alias)["KeyMetadata"]
    rotation = kms.get_key_rotation_status(KeyId=key["KeyId"])
    policy = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
    show(f"key {key['Arn']} ({alias})", {
        "KeyState": key["KeyState"],
        "KeyManager": key["KeyManager"],
        "KeyRotationEnabled": rotation["KeyRotationEnabled"],
        "RotationPeriodInDays": rotation.get("RotationPeriodInDays"),
        "Tags": {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]},
    })
    show("key policy", json.loads(policy))

    for name in (dead_letter, queue):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for document in ("Policy", "RedrivePolicy", "RedriveAllowPolicy"):
            if document in attributes:
                attributes[document] = json.loads(attributes[document])
        for noise in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed",
                      "ApproximateNumberOfMessagesNotVisible", "CreatedTimestamp", "LastModifiedTimestamp"):
            attributes.pop(noise, None)
        attributes["Tags"] = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
        show(f"queue {name}", attributes)


if __name__ == "__main__":
    main()
