//! Regular expressions shared by the CRD schema (`pattern`) and the in-code validation, so the
//! API server and `securequeue plan` accept exactly the same strings. They are RE2-compatible
//! (the API server's dialect) and are anchored.

/// An SQS queue name as the user gives it: letters, digits, `-` and `_`, optionally ending in
/// `.fifo`. The length bound (76) leaves room for the `-dlq` the dead-letter queue adds.
pub const QUEUE_NAME: &str = r"^[A-Za-z0-9_-]+(\.fifo)?$";
/// An AWS region name such as `eu-west-1`, `us-gov-west-1` or `cn-north-1`.
pub const REGION: &str = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$";
/// An AWS Organizations organization id.
pub const ORGANIZATION_ID: &str = r"^o-[a-z0-9]{10,32}$";
/// A VPC endpoint id.
pub const VPC_ENDPOINT_ID: &str = r"^vpce-[0-9a-f]{8,17}$";
/// A 12-digit AWS account id.
pub const ACCOUNT_ID: &str = r"^[0-9]{12}$";
/// An STS external id: the characters AWS allows in one (2 to 1224 of them: the bound is
/// [`super::limits::EXTERNAL_ID_MAX`], as RE2 repeats at most 1000 times).
pub const EXTERNAL_ID: &str = r"^[A-Za-z0-9+=,.@:/_-]+$";
/// A Kubernetes namespace name (an RFC 1123 label).
pub const NAMESPACE: &str = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";
/// A Kubernetes object name (an RFC 1123 subdomain; its length bound, 253, is checked apart).
pub const OBJECT_NAME: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// A tag key or value as AWS documents it for KMS and SQS: letters, separators (spaces),
/// numbers and `_ . : / = + - @`; no control characters such as tabs or newlines.
pub const TAG: &str = r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$";
/// A KMS alias name.
pub const KEY_ALIAS: &str = r"^alias/[A-Za-z0-9/_-]+$";
/// The partitions an ARN may name.
const PARTITION: &str = r"aws(-cn|-us-gov)?";

/// An IAM role ARN (with an optional path).
pub fn role_arn() -> String {
    format!(r"^arn:{PARTITION}:iam::[0-9]{{12}}:role/[A-Za-z0-9+=,.@_/-]+$")
}

/// An SNS topic ARN.
pub fn sns_topic_arn() -> String {
    format!(r"^arn:{PARTITION}:sns:[a-z0-9-]+:[0-9]{{12}}:[A-Za-z0-9_-]+(\.fifo)?$")
}

/// An S3 bucket ARN (a bucket, not objects in it).
pub fn s3_bucket_arn() -> String {
    format!(r"^arn:{PARTITION}:s3:::[a-z0-9][a-z0-9.-]+[a-z0-9]$")
}

/// An EventBridge rule ARN, on the default or a custom event bus.
pub fn event_bridge_rule_arn() -> String {
    format!(r"^arn:{PARTITION}:events:[a-z0-9-]+:[0-9]{{12}}:rule/[A-Za-z0-9._/-]+$")
}
