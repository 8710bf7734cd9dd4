//! The actions of the two services whose policies securequeue writes, as AWS's Service
//! Authorization Reference lists them, so that `explain` can refuse a request for an action
//! that does not exist instead of answering that nothing allows it:
//! "Actions defined by Amazon SQS"
//! (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html>)
//! and "Actions defined by AWS Key Management Service"
//! (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html>).
//! Batch API calls (`SendMessageBatch`, `DeleteMessageBatch`, `ChangeMessageVisibilityBatch`)
//! are authorized as the action without `Batch`, and have none of their own.

/// Every Amazon SQS action.
const SQS: [&str; 20] = [
    "AddPermission",
    "CancelMessageMoveTask",
    "ChangeMessageVisibility",
    "CreateQueue",
    "DeleteMessage",
    "DeleteQueue",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "ListMessageMoveTasks",
    "ListQueueTags",
    "ListQueues",
    "PurgeQueue",
    "ReceiveMessage",
    "RemovePermission",
    "SendMessage",
    "SetQueueAttributes",
    "StartMessageMoveTask",
    "TagQueue",
    "UntagQueue",
];

/// Every AWS KMS action.
const KMS: [&str; 55] = [
    "CancelKeyDeletion",
    "ConnectCustomKeyStore",
    "CreateAlias",
    "CreateCustomKeyStore",
    "CreateGrant",
    "CreateKey",
    "Decrypt",
    "DeleteAlias",
    "DeleteCustomKeyStore",
    "DeleteImportedKeyMaterial",
    "DeriveSharedSecret",
    "DescribeCustomKeyStores",
    "DescribeKey",
    "DisableKey",
    "DisableKeyRotation",
    "DisconnectCustomKeyStore",
    "EnableKey",
    "EnableKeyRotation",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "GenerateRandom",
    "GetKeyPolicy",
    "GetKeyRotationStatus",
    "GetParametersForImport",
    "GetPublicKey",
    "ImportKeyMaterial",
    "ListAliases",
    "ListGrants",
    "ListKeyPolicies",
    "ListKeyRotations",
    "ListKeys",
    "ListResourceTags",
    "ListRetirableGrants",
    "PutKeyPolicy",
    "ReEncryptFrom",
    "ReEncryptTo",
    "ReplicateKey",
    "RetireGrant",
    "RevokeGrant",
    "RotateKeyOnDemand",
    "ScheduleKeyDeletion",
    "Sign",
    "SynchronizeMultiRegionKey",
    "TagResource",
    "UntagResource",
    "UpdateAlias",
    "UpdateCustomKeyStore",
    "UpdateKeyDescription",
    "UpdatePrimaryRegion",
    "Verify",
    "VerifyMac",
];

/// Whether `action` (`sqs:SendMessage`) is an action of SQS or KMS. Action names are matched
/// without regard to case, as IAM matches them; a wildcard is no one action.
pub fn is_known(action: &str) -> bool {
    let Some((service, name)) = action.split_once(':') else {
        return false;
    };
    let names: &[&str] = match service.to_ascii_lowercase().as_str() {
        "sqs" => &SQS,
        "kms" => &KMS,
        _ => return false,
    };
    names.iter().any(|known| known.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actions_securequeue_names_are_known_and_made_up_ones_are_not() {
        for action in [
            "sqs:SendMessage",
            "sqs:receivemessage",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "KMS:CreateGrant",
        ] {
            assert!(is_known(action), "{action}");
        }
        for action in [
            "sqs:SendMessages",
            "sqs:SendMessageBatch",
            "sqs:*",
            "kms:Decrypt*",
            "s3:GetObject",
            "SendMessage",
            "",
        ] {
            assert!(!is_known(action), "{action}");
        }
    }
}
