//! Condition types written to `status.conditions`.
//!
//! One condition per converge step, then `Ready` summarising them, so that
//! `kubectl wait --for=condition=Ready`, Argo CD and Flux read the resource without extra
//! configuration.

/// The customer-managed KMS key exists with its policy, rotation and alias.
pub const KEY_READY: &str = "KeyReady";
/// The dead-letter queue exists, encrypted with the key, with its policy.
pub const DEAD_LETTER_QUEUE_READY: &str = "DeadLetterQueueReady";
/// The main queue exists, encrypted with the key, with its policy and redrive policy.
pub const QUEUE_READY: &str = "QueueReady";
/// Every step above holds for the current generation.
pub const READY: &str = "Ready";

/// Every condition type, in converge order.
pub const ALL: [&str; 4] = [KEY_READY, DEAD_LETTER_QUEUE_READY, QUEUE_READY, READY];
