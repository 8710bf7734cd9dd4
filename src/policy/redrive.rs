//! The two redrive documents: the main queue's `RedrivePolicy` and the dead-letter queue's
//! `RedriveAllowPolicy`.

use serde::Serialize;

use crate::resolve::Resolved;

/// The main queue's `RedrivePolicy` attribute.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RedrivePolicy {
    /// ARN of the dead-letter queue.
    pub dead_letter_target_arn: String,
    /// Receives before a message moves to the dead-letter queue.
    pub max_receive_count: u32,
}

/// The dead-letter queue's `RedriveAllowPolicy` attribute.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RedriveAllowPolicy {
    /// Always `byQueue`: only the listed queues may use this queue as their dead-letter queue.
    pub redrive_permission: &'static str,
    /// The main queue's ARN.
    pub source_queue_arns: Vec<String>,
}

/// The main queue's redrive to its dead-letter queue.
pub fn redrive_policy(q: &Resolved) -> RedrivePolicy {
    RedrivePolicy {
        dead_letter_target_arn: q.dead_letter_queue_arn.clone(),
        max_receive_count: q.spec.dead_letter_queue.max_receive_count,
    }
}

/// Only the main queue may redrive into the dead-letter queue.
pub fn redrive_allow_policy(q: &Resolved) -> RedriveAllowPolicy {
    RedriveAllowPolicy {
        redrive_permission: "byQueue",
        source_queue_arns: vec![q.queue_arn.clone()],
    }
}
