//! `SecureQueueStatus`: what the operator found and did.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::{JsonSchema, json_schema};
use serde::{Deserialize, Serialize};

/// Observed state of a SecureQueue, written by the operator through the status subresource.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = super::schema::kubernetes_integer_formats)]
pub struct SecureQueueStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Conditions `KeyReady`, `DeadLetterQueueReady`, `QueueReady` and `Ready`, each with a
    /// reason and a message a person can act on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,

    /// ARN of the customer-managed KMS key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_arn: Option<String>,

    /// ARN of the dead-letter queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_queue_arn: Option<String>,

    /// URL of the dead-letter queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_queue_url: Option<String>,

    /// Messages waiting in the dead-letter queue at the last reconcile (SQS's
    /// ApproximateNumberOfMessages); above zero, consumers are failing to process messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter_queue_messages: Option<u64>,

    /// Name of the main queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<String>,

    /// ARN of the main queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_arn: Option<String>,

    /// URL of the main queue, for the consumers' and producers' configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,

    /// Estimated KMS requests in 30 days for both queues, by AWS's formula
    /// R = B / D * (2P + C), with every principal active in every reuse period (an upper bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_estimated_requests_per_30_days: Option<u64>,

    /// Where the key and both queues live, recorded once any of them exists. Every pass
    /// compares it with what the spec and the operator's settings resolve to before any AWS
    /// call, and refuses a difference (reason `ImmutableFieldChanged`): the resources never
    /// move. A SecureQueue without `spec.region` stays in the region recorded here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Placement>,

    /// `spec.management: Observe` only: every difference between AWS and the spec, as
    /// `<condition>: <path>: <value in AWS> -> <value of the spec>` (ownership tags aside).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<String>,

    /// `spec.management: Observe` only: every access the policies in AWS give other than the
    /// spec says, and every row of the intent table they break.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,

    /// The existing resources `spec.management: Adopt` takes over, and who loses access when
    /// the generated policies replace theirs: recorded (with a Warning Event) before the
    /// operator's first write to any of them, which waits for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adoption: Option<AdoptionRecord>,

    /// A CreateKey that may have made a key the alias does not name yet: recorded just before
    /// every CreateKey and removed once the alias names the key, so that only a pass cut off in
    /// between searches the region for the key it may have made. Written by its own field
    /// manager (`securequeue-key-ledger`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_creation: Option<KeyCreation>,
}

/// A CreateKey this SecureQueue's passes may have sent whose key is not yet settled.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct KeyCreation {
    /// When it was recorded, just before the CreateKey (RFC 3339).
    pub requested_at: String,
}

/// What an adoption takes over and changes, as recorded before its first write.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AdoptionRecord {
    /// When it was recorded (RFC 3339).
    pub recorded_at: String,
    /// ARNs of the existing key and queues taken over.
    pub resources: Vec<String>,
    /// Each principal's loss, as `<principal> loses <action> on <ARN>`: what the policies in
    /// AWS allowed and the generated ones do not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_lost: Vec<String>,
    /// Each principal's gain, as `<principal> gains <action> on <ARN>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_gained: Vec<String>,
    /// `<queue ARN>: <key>` for each queue moved to the SecureQueue's key. Keep each old key
    /// enabled until the messages it encrypted are gone: SQS goes on decrypting them with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_keys: Vec<String>,
}

/// Which AWS resources a SecureQueue is: the values that decide where its key and queues live
/// (recorded as `status.identity`).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// AWS partition of the key and queues: `aws`, `aws-cn` or `aws-us-gov`.
    pub partition: String,
    /// AWS account of the key and queues.
    pub account_id: String,
    /// AWS region of the key and queues.
    pub region: String,
    /// Name of the main queue.
    pub queue_name: String,
    /// Name of the dead-letter queue.
    pub dead_letter_queue_name: String,
    /// Alias of the key.
    pub key_alias: String,
    /// Id of the key the alias names, once the operator has seen it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// Conditions are a list-map keyed by `type`, so server-side apply merges them by type.
fn conditions_schema(_: &mut schemars::generate::SchemaGenerator) -> schemars::Schema {
    json_schema!({
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
        "items": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "description": "Type of the condition: PoliciesVerified, KeyReady, DeadLetterQueueReady, QueueReady, Ready, and while they hold, Reconciling or Stalled."},
                "status": {"type": "string", "enum": ["True", "False", "Unknown"], "description": "Whether the condition holds."},
                "reason": {"type": "string", "description": "One CamelCase word saying why, for machines and alerts."},
                "message": {"type": "string", "description": "What happened and what to do, for people."},
                "lastTransitionTime": {"type": "string", "format": "date-time", "description": "When the status last changed."},
                "observedGeneration": {"type": "integer", "format": "int64", "description": "The metadata.generation the condition was computed for."}
            },
            "required": ["type", "status", "reason", "message", "lastTransitionTime"]
        }
    })
}
