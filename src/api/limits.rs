//! Numeric bounds of the API: AWS's limits for SQS and KMS, and the operator's own. The CRD
//! schema and the in-code validation both read them from here.

/// Longest main queue name: SQS allows 80 and the dead-letter queue adds `-dlq`.
pub const QUEUE_NAME_MAX: u32 = 76;
/// Longest queue name SQS accepts.
pub const SQS_QUEUE_NAME_MAX: usize = 80;
/// Longest KMS alias name.
pub const KEY_ALIAS_MAX: u32 = 256;
/// Most principals one list may name: the SQS policy quota of 50 principals bounds them all.
pub const PRINCIPALS_PER_LIST_MAX: u32 = 50;
/// Longest ARN accepted in a list; bounds the cost of the CRD's CEL rules.
pub const ARN_LENGTH_MAX: u32 = 1024;
/// Most user tags: SQS and KMS allow 50 tags per resource and the operator adds four.
pub const USER_TAGS_MAX: u32 = 46;
/// Longest tag key (SQS and KMS).
pub const TAG_KEY_MAX: usize = 128;
/// Longest tag value (SQS and KMS).
pub const TAG_VALUE_MAX: usize = 256;
/// Longest Kubernetes object name (an RFC 1123 subdomain), such as a SecureQueue's: it becomes
/// a tag value, which fits under [`TAG_VALUE_MAX`].
pub const OBJECT_NAME_MAX: usize = 253;

/// SQS VisibilityTimeout, seconds.
pub const VISIBILITY_TIMEOUT_MAX: u32 = 43_200;
/// SQS MessageRetentionPeriod, seconds (1 minute).
pub const RETENTION_MIN: u32 = 60;
/// SQS MessageRetentionPeriod, seconds (14 days).
pub const RETENTION_MAX: u32 = 1_209_600;
/// SQS DelaySeconds.
pub const DELAY_MAX: u32 = 900;
/// SQS ReceiveMessageWaitTimeSeconds.
pub const RECEIVE_WAIT_MAX: u32 = 20;
/// SQS MaximumMessageSize, bytes.
pub const MESSAGE_SIZE_MIN: u32 = 1024;
/// SQS MaximumMessageSize, bytes (1 MiB).
pub const MESSAGE_SIZE_MAX: u32 = 1_048_576;
/// SQS RedrivePolicy maxReceiveCount.
pub const MAX_RECEIVE_COUNT_MIN: u32 = 1;
/// SQS RedrivePolicy maxReceiveCount.
pub const MAX_RECEIVE_COUNT_MAX: u32 = 1000;
/// SQS KmsDataKeyReusePeriodSeconds.
pub const DATA_KEY_REUSE_MIN: u32 = 60;
/// SQS KmsDataKeyReusePeriodSeconds (24 hours).
pub const DATA_KEY_REUSE_MAX: u32 = 86_400;
/// KMS EnableKeyRotation RotationPeriodInDays.
pub const ROTATION_DAYS_MIN: u32 = 90;
/// KMS EnableKeyRotation RotationPeriodInDays.
pub const ROTATION_DAYS_MAX: u32 = 2560;
/// KMS ScheduleKeyDeletion PendingWindowInDays.
pub const DELETION_WINDOW_MIN: u32 = 7;
/// KMS ScheduleKeyDeletion PendingWindowInDays.
pub const DELETION_WINDOW_MAX: u32 = 30;

/// The shortest STS external id
/// (<https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>).
pub const EXTERNAL_ID_MIN: usize = 2;
/// The longest STS external id.
pub const EXTERNAL_ID_MAX: usize = 1224;
