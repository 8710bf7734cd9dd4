//! `SecureQueueSpec`: what an application team asks for.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::SecureQueueStatus;
use super::{limits, patterns};

/// What the application team asks for: who consumes, who produces, who administers, and the
/// queue and key settings. Everything else (policies, encryption, redrive) follows from it.
// Each printer column repeats `type_`, which clippy mistakes for a duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "securequeue.io",
    version = "v1alpha1",
    kind = "SecureQueue",
    plural = "securequeues",
    shortname = "sq",
    namespaced,
    status = "SecureQueueStatus",
    derive = "PartialEq",
    doc = "A KMS-encrypted Amazon SQS queue with a dead-letter queue, a customer-managed key and least-privilege key and queue policies, converged and kept correct by the securequeue operator.",
    cel,
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Whether the key and both queues are converged"
    ),
    printcolumn(
        name = "Queue",
        type_ = "string",
        json_path = ".status.queueName",
        description = "Name of the main SQS queue"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        description = "Why the resource is or is not Ready"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(
    validation = Rule::new("has(self.queueName) == has(oldSelf.queueName)")
        .message("queueName cannot be added or removed after creation: it names queues that are never replaced")
        .field_path(".queueName"),
    validation = Rule::new("has(self.region) == has(oldSelf.region)")
        .message("region cannot be added or removed after creation: the queues stay where they were made")
        .field_path(".region"),
    validation = Rule::new("has(self.key.alias) == has(oldSelf.key.alias)")
        .message("key.alias cannot be added or removed after creation: a new alias would mean a new key, and the key still decrypts the queues' messages")
        .field_path(".key.alias"),
    validation = Rule::new("has(self.deadLetterQueue.queueName) == has(oldSelf.deadLetterQueue.queueName)")
        .message("deadLetterQueue.queueName cannot be added or removed after creation: it names a queue that is never replaced")
        .field_path(".deadLetterQueue.queueName"),
    validation = Rule::new("!has(self.deadLetterQueue.queueName) || self.fifo == self.deadLetterQueue.queueName.endsWith('.fifo')")
        .message("deadLetterQueue.queueName must end in '.fifo' exactly when fifo is true")
        .field_path(".deadLetterQueue.queueName"),
    validation = Rule::new("!has(self.queueName) || self.fifo == self.queueName.endsWith('.fifo')")
        .message("queueName must end in '.fifo' exactly when fifo is true")
        .field_path(".queueName"),
    validation = Rule::new("!has(self.queueName) || !has(self.deadLetterQueue.queueName) || self.queueName != self.deadLetterQueue.queueName")
        .message("deadLetterQueue.queueName must differ from queueName: a queue cannot be its own dead-letter queue")
        .field_path(".deadLetterQueue.queueName"),
    validation = Rule::new("self.deadLetterQueue.messageRetentionSeconds >= self.queue.messageRetentionSeconds")
        .message("deadLetterQueue.messageRetentionSeconds must be at least queue.messageRetentionSeconds, or messages expire before anyone reads them in the dead-letter queue")
        .field_path(".deadLetterQueue.messageRetentionSeconds"),
    validation = Rule::new("!self.fifo || size(self.producers.s3BucketArns) == 0")
        .message("S3 event notifications cannot be delivered to a FIFO queue")
        .field_path(".producers.s3BucketArns"),
    validation = Rule::new("!self.fifo || self.producers.snsTopicArns.all(t, t.endsWith('.fifo'))")
        .message("a FIFO queue can only subscribe to FIFO SNS topics (names ending in '.fifo')")
        .field_path(".producers.snsTopicArns")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(transform = super::schema::kubernetes_integer_formats)]
pub struct SecureQueueSpec {
    /// Name of the main SQS queue; the dead-letter queue is named `<queueName>-dlq` (before the
    /// `.fifo` suffix for FIFO queues). Defaults to `<namespace>-<name>` with dots replaced by
    /// dashes. Letters, digits, `-` and `_`, ending in `.fifo` exactly when `fifo` is true; at most
    /// 76 characters so that the dead-letter queue's name fits SQS's 80. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = limits::QUEUE_NAME_MAX), pattern(patterns::QUEUE_NAME))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("queueName is immutable"))]
    pub queue_name: Option<String>,

    /// Create FIFO queues (exactly-once, ordered) instead of standard queues. Immutable: SQS
    /// cannot convert a queue, and replacing it would lose its messages.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self == oldSelf").message("fifo is immutable"))]
    pub fifo: bool,

    /// AWS region of the key and both queues, such as `eu-west-1`. Defaults to the region
    /// `status.identity` records once the resources exist, else the operator's region; so a
    /// change of the operator's region moves nothing. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(patterns::REGION))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("region is immutable"))]
    pub region: Option<String>,

    /// AWS account of the key and both queues, when not the operator's own: a
    /// `SecureQueueAccount` the platform team made must bind this namespace to it, and the
    /// operator then assumes that binding's role for every call. Defaults to the operator's
    /// account. Immutable: the resources never move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(patterns::ACCOUNT_ID))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("accountId is immutable"))]
    pub account_id: Option<String>,

    /// AWS Organizations id (`o-...`). When set, both queue policies deny queue actions to every
    /// principal outside this organization (`DenyQueueActionsOutsideOrg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(patterns::ORGANIZATION_ID))]
    pub organization_id: Option<String>,

    /// VPC endpoint id (`vpce-...`). When set, the main queue denies ReceiveMessage unless the
    /// request comes through this endpoint (`DenyReceivingIfNotThroughVPCE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(patterns::VPC_ENDPOINT_ID))]
    pub vpc_endpoint_id: Option<String>,

    /// IAM role ARNs that administer the key and both queues, beside the operator's own role.
    /// Nobody else may change the key or the queues' policies and attributes.
    #[serde(default)]
    #[schemars(
        length(max = limits::PRINCIPALS_PER_LIST_MAX),
        inner(length(max = limits::ARN_LENGTH_MAX), pattern(patterns::role_arn())),
        extend("x-kubernetes-list-type" = "set")
    )]
    pub admin_role_arns: Vec<String>,

    /// IAM role ARNs of the consumers: the only principals that may receive, delete and change
    /// the visibility of the main queue's messages, and decrypt them with the key. At least one.
    #[schemars(
        length(min = 1, max = limits::PRINCIPALS_PER_LIST_MAX),
        inner(length(max = limits::ARN_LENGTH_MAX), pattern(patterns::role_arn())),
        extend("x-kubernetes-list-type" = "set")
    )]
    pub consumer_role_arns: Vec<String>,

    /// Who may send to the main queue. Nobody else can; with no producers, nobody can send.
    #[serde(default)]
    pub producers: Producers,

    /// Attributes of the main queue.
    #[serde(default)]
    pub queue: QueueSettings,

    /// The dead-letter queue that receives messages the consumers failed to process.
    #[serde(default)]
    pub dead_letter_queue: DeadLetterQueueSettings,

    /// The customer-managed KMS key that encrypts both queues.
    #[serde(default)]
    pub key: KeySettings,

    /// How the operator treats the key and queues of this SecureQueue's names: `Manage` (the
    /// default) creates them and keeps them as the spec says, refusing any it did not create;
    /// `Observe` only reads them, whoever made them, and reports in the status how they differ
    /// from the spec and who has access the spec does not grant, never writing to AWS; `Adopt`
    /// takes over existing ones that no other SecureQueue owns (recording first, in
    /// `status.adoption` and a Warning Event, who loses access), then manages them.
    #[serde(default)]
    pub management: Management,

    /// What happens in AWS when this resource is deleted: `Retain` keeps the key and both queues
    /// (with their messages); `Delete` deletes both queues and schedules the key's deletion.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Tags added to the key and both queues, beside the operator's own `securequeue.io/*`
    /// ownership tags. Keys may not start with `aws:` or `securequeue.io/`. Values hold at most
    /// 256 letters, digits, spaces and `_ . : / = + - @` (AWS's tag pattern: no tabs or
    /// newlines).
    #[serde(default)]
    #[schemars(extend(
        "maxProperties" = limits::USER_TAGS_MAX,
        "additionalProperties" = {
            "type": "string",
            "maxLength": limits::TAG_VALUE_MAX,
            "pattern": patterns::TAG,
        },
    ))]
    #[x_kube(validation = Rule::new("self.all(k, !k.startsWith('aws:') && !k.startsWith('securequeue.io/'))")
        .message("tag keys starting with 'aws:' or 'securequeue.io/' are reserved"))]
    pub tags: BTreeMap<String, String>,
}

/// The principals allowed to send messages to the main queue. Services (SNS, S3, EventBridge)
/// are allowed only for the named source resources; roles call SendMessage directly.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Producers {
    /// SNS topic ARNs whose subscriptions deliver to the queue. Topics may be in another region;
    /// a FIFO queue needs FIFO topics.
    #[serde(default)]
    #[schemars(
        length(max = limits::PRINCIPALS_PER_LIST_MAX),
        inner(length(max = limits::ARN_LENGTH_MAX), pattern(patterns::sns_topic_arn())),
        extend("x-kubernetes-list-type" = "set")
    )]
    pub sns_topic_arns: Vec<String>,

    /// S3 bucket ARNs whose event notifications deliver to the queue. The buckets must belong to
    /// the queue's account. Not possible for FIFO queues.
    #[serde(default)]
    #[schemars(
        length(max = limits::PRINCIPALS_PER_LIST_MAX),
        inner(length(max = limits::ARN_LENGTH_MAX), pattern(patterns::s3_bucket_arn())),
        extend("x-kubernetes-list-type" = "set")
    )]
    pub s3_bucket_arns: Vec<String>,

    /// EventBridge rule ARNs that target the queue, in the queue's region.
    #[serde(default)]
    #[schemars(
        length(max = limits::PRINCIPALS_PER_LIST_MAX),
        inner(length(max = limits::ARN_LENGTH_MAX), pattern(patterns::event_bridge_rule_arn())),
        extend("x-kubernetes-list-type" = "set")
    )]
    pub event_bridge_rule_arns: Vec<String>,

    /// IAM role ARNs that call SendMessage directly; they may also use the key, through SQS only.
    #[serde(default)]
    #[schemars(
        length(max = limits::PRINCIPALS_PER_LIST_MAX),
        inner(length(max = limits::ARN_LENGTH_MAX), pattern(patterns::role_arn())),
        extend("x-kubernetes-list-type" = "set")
    )]
    pub role_arns: Vec<String>,
}

/// Attributes of the main queue, with SQS's limits.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueueSettings {
    /// Seconds a received message stays hidden from other consumers (0 to 43200).
    #[serde(default = "defaults::visibility_timeout_seconds")]
    #[schemars(range(max = limits::VISIBILITY_TIMEOUT_MAX))]
    pub visibility_timeout_seconds: u32,

    /// Seconds SQS keeps a message (60 to 1209600, that is 1 minute to 14 days).
    #[serde(default = "defaults::queue_message_retention_seconds")]
    #[schemars(range(min = limits::RETENTION_MIN, max = limits::RETENTION_MAX))]
    pub message_retention_seconds: u32,

    /// Seconds every new message is delayed before it can be received (0 to 900).
    #[serde(default)]
    #[schemars(range(max = limits::DELAY_MAX))]
    pub delay_seconds: u32,

    /// Seconds ReceiveMessage waits for a message (long polling; 0 to 20).
    #[serde(default)]
    #[schemars(range(max = limits::RECEIVE_WAIT_MAX))]
    pub receive_wait_time_seconds: u32,

    /// Largest message accepted, in bytes (1024 to 1048576).
    #[serde(default = "defaults::maximum_message_size_bytes")]
    #[schemars(range(min = limits::MESSAGE_SIZE_MIN, max = limits::MESSAGE_SIZE_MAX))]
    pub maximum_message_size_bytes: u32,
}

/// The dead-letter queue and its redrive from the main queue.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeadLetterQueueSettings {
    /// Name of the dead-letter queue, for an existing queue of another name (`Observe`,
    /// `Adopt`); by default `<queueName>-dlq` (before `.fifo` for FIFO queues). Same rules as
    /// `queueName`, at most 80 characters. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = limits::SQS_QUEUE_NAME_MAX), pattern(patterns::QUEUE_NAME))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("deadLetterQueue.queueName is immutable"))]
    pub queue_name: Option<String>,

    /// Receives of one message from the main queue before SQS moves it to the dead-letter queue
    /// (1 to 1000).
    #[serde(default = "defaults::max_receive_count")]
    #[schemars(range(min = limits::MAX_RECEIVE_COUNT_MIN, max = limits::MAX_RECEIVE_COUNT_MAX))]
    pub max_receive_count: u32,

    /// Seconds the dead-letter queue keeps a message (60 to 1209600); at least the main queue's,
    /// because a standard queue's message keeps its original enqueue time when it is moved.
    #[serde(default = "defaults::dead_letter_queue_message_retention_seconds")]
    #[schemars(range(min = limits::RETENTION_MIN, max = limits::RETENTION_MAX))]
    pub message_retention_seconds: u32,

    /// IAM role ARNs that may receive from the dead-letter queue. Empty means the main queue's
    /// consumers.
    #[serde(default)]
    #[schemars(
        length(max = limits::PRINCIPALS_PER_LIST_MAX),
        inner(length(max = limits::ARN_LENGTH_MAX), pattern(patterns::role_arn())),
        extend("x-kubernetes-list-type" = "set")
    )]
    pub consumer_role_arns: Vec<String>,
}

/// The customer-managed KMS key.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeySettings {
    /// Alias of the key, `alias/...`; by default `alias/securequeue/<namespace>/<name>`.
    /// Aliases under `alias/aws/` belong to AWS. Immutable: the key keeps its alias for life.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = limits::KEY_ALIAS_MAX), pattern(patterns::KEY_ALIAS))]
    #[x_kube(
        validation = Rule::new("!self.startsWith('alias/aws/')").message("aliases under alias/aws/ are reserved for AWS managed keys"),
        validation = Rule::new("self == oldSelf").message("key.alias is immutable")
    )]
    pub alias: Option<String>,

    /// Seconds SQS reuses a data key before asking KMS again (60 to 86400). Longer is cheaper
    /// (fewer KMS requests), shorter limits what one data key protects.
    #[serde(default = "defaults::data_key_reuse_period_seconds")]
    #[schemars(range(min = limits::DATA_KEY_REUSE_MIN, max = limits::DATA_KEY_REUSE_MAX))]
    pub data_key_reuse_period_seconds: u32,

    /// Days between automatic rotations of the key material (90 to 2560). Rotation is always on.
    #[serde(default = "defaults::rotation_period_days")]
    #[schemars(range(min = limits::ROTATION_DAYS_MIN, max = limits::ROTATION_DAYS_MAX))]
    pub rotation_period_days: u32,

    /// Days KMS waits before deleting the key once its deletion is scheduled (7 to 30).
    #[serde(default = "defaults::deletion_window_days")]
    #[schemars(range(min = limits::DELETION_WINDOW_MIN, max = limits::DELETION_WINDOW_MAX))]
    pub deletion_window_days: u32,
}

/// How the operator treats the AWS resources of a SecureQueue's names.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Management {
    /// Create what is missing and keep everything as the spec says; a resource of these names
    /// that securequeue did not create is refused (`NameConflict`).
    #[default]
    Manage,
    /// Read only: report differences and access findings, never write to AWS, never delete.
    Observe,
    /// Take over existing resources that carry no other SecureQueue's ownership tags, then
    /// manage them as `Manage` does.
    Adopt,
}

/// What happens to the AWS resources when the SecureQueue is deleted.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeletionPolicy {
    /// Keep the key and both queues, with their messages.
    #[default]
    Retain,
    /// Delete both queues, the alias, and schedule the key's deletion.
    Delete,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            visibility_timeout_seconds: defaults::visibility_timeout_seconds(),
            message_retention_seconds: defaults::queue_message_retention_seconds(),
            delay_seconds: 0,
            receive_wait_time_seconds: 0,
            maximum_message_size_bytes: defaults::maximum_message_size_bytes(),
        }
    }
}

impl Default for DeadLetterQueueSettings {
    fn default() -> Self {
        Self {
            queue_name: None,
            max_receive_count: defaults::max_receive_count(),
            message_retention_seconds: defaults::dead_letter_queue_message_retention_seconds(),
            consumer_role_arns: Vec::new(),
        }
    }
}

impl Default for KeySettings {
    fn default() -> Self {
        Self {
            alias: None,
            data_key_reuse_period_seconds: defaults::data_key_reuse_period_seconds(),
            rotation_period_days: defaults::rotation_period_days(),
            deletion_window_days: defaults::deletion_window_days(),
        }
    }
}

/// The one place defaults are written down.
mod defaults {
    pub fn visibility_timeout_seconds() -> u32 {
        30
    }
    pub fn queue_message_retention_seconds() -> u32 {
        345_600
    }
    pub fn maximum_message_size_bytes() -> u32 {
        262_144
    }
    pub fn max_receive_count() -> u32 {
        5
    }
    pub fn dead_letter_queue_message_retention_seconds() -> u32 {
        1_209_600
    }
    pub fn data_key_reuse_period_seconds() -> u32 {
        300
    }
    pub fn rotation_period_days() -> u32 {
        365
    }
    pub fn deletion_window_days() -> u32 {
        30
    }
}
