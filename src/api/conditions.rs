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
/// The generated policies pass the SecureQueue's intent table (`securequeue verify`).
pub const POLICIES_VERIFIED: &str = "PoliciesVerified";
/// kstatus: the controller is still working towards Ready (present only while True).
pub const RECONCILING: &str = "Reconciling";
/// kstatus: the controller cannot make progress without a person (present only while True).
pub const STALLED: &str = "Stalled";

/// Condition reasons: one CamelCase word each, for alerts and `kubectl get`.
pub mod reason {
    /// The step created what was missing.
    pub const CREATED: &str = "Created";
    /// Everything already matched the spec; nothing was written.
    pub const CONVERGED: &str = "Converged";
    /// Something had been changed outside the operator and was put back.
    pub const DRIFT_CORRECTED: &str = "DriftCorrected";
    /// The name is taken by a resource of another owner, or of none; nothing was changed.
    pub const NAME_CONFLICT: &str = "NameConflict";
    /// The operator's IAM identity may not make a call it needs.
    pub const ACCESS_DENIED: &str = "AccessDenied";
    /// AWS throttled the operator beyond its retries; the next pass continues.
    pub const THROTTLED: &str = "Throttled";
    /// KMS refused the key policy, usually because a named role does not exist.
    pub const POLICY_REJECTED: &str = "PolicyRejected";
    /// AWS refused a request as invalid.
    pub const AWS_REJECTED: &str = "AwsRejected";
    /// AWS could not be reached or failed beyond the retries; the next pass continues.
    pub const AWS_UNAVAILABLE: &str = "AwsUnavailable";
    /// The pass stopped before finishing; the next pass continues where it left off.
    pub const INTERRUPTED: &str = "Interrupted";
    /// A queue was just created, and SQS has not yet applied the queue policy through which
    /// the operator tags it; the next pass tags it.
    pub const QUEUE_POLICY_PROPAGATING: &str = "QueuePolicyPropagating";
    /// The pass waits for its turn at an AWS operation's request budget, behind other
    /// SecureQueues' requests; it goes on by itself.
    pub const WAITING_FOR_REQUEST_QUOTA: &str = "WaitingForRequestQuota";
    /// The key exists but is in a state the operator cannot repair.
    pub const KEY_UNUSABLE: &str = "KeyUnusable";
    /// A generated policy failed the intent table; nothing was changed in AWS.
    pub const POLICY_VERIFICATION_FAILED: &str = "PolicyVerificationFailed";
    /// Every row of the intent table holds.
    pub const VERIFIED: &str = "Verified";
    /// A policy read back from AWS broke the intent table (drift that changed access); the
    /// pass corrects it.
    pub const ACCESS_DRIFT_FOUND: &str = "AccessDriftFound";
    /// The spec is invalid; nothing was changed in AWS.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// The spec changes a field that cannot change (queueName, fifo); nothing was changed.
    pub const IMMUTABLE_FIELD_CHANGED: &str = "ImmutableFieldChanged";
    /// An earlier step failed, so this one was not attempted.
    pub const BLOCKED: &str = "Blocked";
    /// Messages are waiting in the dead-letter queue: consumers are failing to process them.
    pub const MESSAGES_IN_DEAD_LETTER_QUEUE: &str = "MessagesInDeadLetterQueue";
    /// The resource was deleted (for a key: its deletion was scheduled).
    pub const DELETED: &str = "Deleted";
    /// `deletionPolicy: Retain` left the resource in AWS.
    pub const RETAINED: &str = "Retained";
}
