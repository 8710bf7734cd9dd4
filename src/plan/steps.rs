//! The ordered AWS calls of a fresh converge.
//!
//! Why these and no fewer: the key must exist before either queue can name it, and CreateKey is
//! not idempotent, so a DescribeKey of the alias first makes sure a key is never created twice;
//! the alias goes on right after CreateKey so a crash leaves the new key findable by name; the
//! rotation is a separate call because CreateKey cannot set it. Each queue is looked up by name
//! before it is created, because CreateQueue on an existing name silently returns someone else's
//! queue, whose ownership tags must be checked first. The dead-letter queue comes before the main
//! queue, whose RedrivePolicy must name an existing queue. Policies, redrive documents, encryption
//! and tags all travel in the create calls, so no Set call is needed. That makes 8 calls, of which
//! 3 are reads.

use serde::Serialize;

use crate::resolve::Resolved;

/// One AWS API call.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// `kms` or `sqs`.
    pub service: &'static str,
    /// The API operation.
    pub operation: &'static str,
    /// The resource it is about.
    pub target: String,
    /// What it does and why here.
    pub purpose: &'static str,
}

/// The calls of a fresh converge, in order.
pub fn fresh_converge(q: &Resolved) -> Vec<Step> {
    let step = |service, operation, target: &str, purpose| Step {
        service,
        operation,
        target: target.to_string(),
        purpose,
    };
    vec![
        step(
            "kms",
            "DescribeKey",
            &q.key_alias,
            "look the key up by alias; not found on a fresh converge",
        ),
        step(
            "kms",
            "CreateKey",
            &q.key_alias,
            "create the symmetric key with its policy and tags",
        ),
        step(
            "kms",
            "CreateAlias",
            &q.key_alias,
            "name the new key at once, so a crash cannot orphan it",
        ),
        step(
            "kms",
            "EnableKeyRotation",
            &q.key_alias,
            "turn on rotation with the requested period",
        ),
        step(
            "sqs",
            "GetQueueUrl",
            &q.dead_letter_queue_name,
            "look the dead-letter queue up; not found on a fresh converge",
        ),
        step(
            "sqs",
            "CreateQueue",
            &q.dead_letter_queue_name,
            "create the dead-letter queue with its attributes, policy and tags",
        ),
        step(
            "sqs",
            "GetQueueUrl",
            &q.queue_name,
            "look the main queue up; not found on a fresh converge",
        ),
        step(
            "sqs",
            "CreateQueue",
            &q.queue_name,
            "create the main queue with its attributes, policy, redrive and tags",
        ),
    ]
}
