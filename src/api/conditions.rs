//! Condition types written to `status.conditions`.
//!
//! One condition per converge step, then `Ready` summarising them, so that
//! `kubectl wait --for=condition=Ready`, Argo CD and Flux read the resource without extra
//! configuration.

use serde::Serialize;

/// The customer-managed KMS key exists with its policy, rotation and alias.
pub const KEY_READY: &str = "KeyReady";
/// The dead-letter queue exists, encrypted with the key, with its policy.
pub const DEAD_LETTER_QUEUE_READY: &str = "DeadLetterQueueReady";
/// The main queue exists, encrypted with the key, with its policy and redrive policy.
pub const QUEUE_READY: &str = "QueueReady";
/// Every step above holds for the current generation.
pub const READY: &str = "Ready";

/// The generated policies pass the SecureQueue's intent table (`securequeue verify`).
pub const POLICIES_VERIFIED: &str = "PoliciesVerified";
/// kstatus: the controller is still working towards Ready (present only while True).
pub const RECONCILING: &str = "Reconciling";
/// kstatus: the controller cannot make progress without a person (present only while True).
pub const STALLED: &str = "Stalled";

/// Whether a condition holds, as Kubernetes spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ConditionStatus {
    /// It holds.
    True,
    /// It does not hold.
    False,
    /// Not known: the step was not attempted.
    Unknown,
}

impl ConditionStatus {
    /// `True`, `False` or `Unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

impl std::fmt::Display for ConditionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ConditionStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// When a SecureQueue that is not Ready for a reason is looked at again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revisit {
    /// Only once its spec changes: no pass can succeed with this spec.
    WhenTheSpecChanges,
    /// At the drift resync: a person must act outside Kubernetes (IAM, a conflicting
    /// resource), and the resync notices when they have.
    AtResync,
    /// Soon, with backoff: the failure is transient and the next pass may get past it.
    WithBackoff,
}

/// Condition reasons: one CamelCase word each, for alerts and `kubectl get`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Reason {
    /// The step created what was missing.
    Created,
    /// Everything already matched the spec; nothing was written.
    Converged,
    /// Something had been changed outside the operator and was put back.
    DriftCorrected,
    /// The name is taken by a resource of another owner, or of none; nothing was changed.
    NameConflict,
    /// `spec.management: Adopt` found a resource without ownership tags, and waits for
    /// `status.adoption` to record who loses access before its first write.
    AdoptionPending,
    /// The existing resource was taken over (`spec.management: Adopt`): tagged, and its
    /// policies and attributes replaced by the generated ones.
    Adopted,
    /// Observed (`spec.management: Observe`): the resource differs from the spec, or is
    /// missing; nothing was written.
    Drifted,
    /// Observed: a policy in AWS grants access the spec does not, or denies access it grants;
    /// nothing was written.
    AccessFindings,
    /// The operator's IAM identity may not make a call it needs.
    AccessDenied,
    /// AWS throttled the operator beyond its retries; the next pass continues.
    Throttled,
    /// KMS refused the key policy, usually because a named role does not exist.
    PolicyRejected,
    /// AWS refused a request as invalid.
    AwsRejected,
    /// AWS could not be reached or failed beyond the retries; the next pass continues.
    AwsUnavailable,
    /// The pass stopped before finishing; the next pass continues where it left off: this
    /// replica lost its leadership mid-pass (the new leader's passes continue), the record a
    /// new key needs in the status could not be written first, or the tests' fault injection
    /// cut it short.
    Interrupted,
    /// A queue was just created, and SQS has not yet applied the queue policy through which
    /// the operator tags it; the next pass tags it.
    QueuePolicyPropagating,
    /// The pass waits for its turn at an AWS operation's request budget, behind other
    /// SecureQueues' requests; it goes on by itself.
    WaitingForRequestQuota,
    /// The key exists but is in a state the operator cannot repair.
    KeyUnusable,
    /// A generated policy failed the intent table; nothing was changed in AWS.
    PolicyVerificationFailed,
    /// Every row of the intent table holds.
    Verified,
    /// A policy read back from AWS broke the intent table (drift that changed access); the
    /// pass corrects it.
    AccessDriftFound,
    /// The spec is invalid; nothing was changed in AWS.
    InvalidSpec,
    /// The spec changes a field that cannot change (queueName, fifo); nothing was changed.
    ImmutableFieldChanged,
    /// An earlier step failed, so this one was not attempted.
    Blocked,
    /// Messages are waiting in the dead-letter queue: consumers are failing to process them.
    MessagesInDeadLetterQueue,
    /// The resource was deleted (for a key: its deletion was scheduled).
    Deleted,
    /// `deletionPolicy: Retain` left the resource in AWS.
    Retained,
    /// Guardrail: a principal or source outside the accounts the operator allows.
    GuardrailAllowedAccounts,
    /// Guardrail: a missing or different `organizationId`.
    GuardrailOrganization,
    /// Guardrail: a queue name without the required prefix.
    GuardrailQueueNamePrefix,
    /// Guardrail: a key alias without the required prefix.
    GuardrailKeyAliasPrefix,
    /// Guardrail: `management: Observe` or `Adopt` names a queue or alias outside the names of
    /// the SecureQueue's own namespace, which the platform team has not trusted across tenants.
    GuardrailTenantScope,
    /// Guardrail: `spec.accountId` names an account no SecureQueueAccount binds to the
    /// namespace (or the binding was removed, or is invalid); nothing is called in AWS.
    GuardrailAccount,
}

impl Reason {
    /// The reason as a condition and an Event write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Created => "Created",
            Reason::Converged => "Converged",
            Reason::DriftCorrected => "DriftCorrected",
            Reason::NameConflict => "NameConflict",
            Reason::AdoptionPending => "AdoptionPending",
            Reason::Adopted => "Adopted",
            Reason::Drifted => "Drifted",
            Reason::AccessFindings => "AccessFindings",
            Reason::AccessDenied => "AccessDenied",
            Reason::Throttled => "Throttled",
            Reason::PolicyRejected => "PolicyRejected",
            Reason::AwsRejected => "AwsRejected",
            Reason::AwsUnavailable => "AwsUnavailable",
            Reason::Interrupted => "Interrupted",
            Reason::QueuePolicyPropagating => "QueuePolicyPropagating",
            Reason::WaitingForRequestQuota => "WaitingForRequestQuota",
            Reason::KeyUnusable => "KeyUnusable",
            Reason::PolicyVerificationFailed => "PolicyVerificationFailed",
            Reason::Verified => "Verified",
            Reason::AccessDriftFound => "AccessDriftFound",
            Reason::InvalidSpec => "InvalidSpec",
            Reason::ImmutableFieldChanged => "ImmutableFieldChanged",
            Reason::Blocked => "Blocked",
            Reason::MessagesInDeadLetterQueue => "MessagesInDeadLetterQueue",
            Reason::Deleted => "Deleted",
            Reason::Retained => "Retained",
            Reason::GuardrailAllowedAccounts => "GuardrailAllowedAccounts",
            Reason::GuardrailOrganization => "GuardrailOrganization",
            Reason::GuardrailQueueNamePrefix => "GuardrailQueueNamePrefix",
            Reason::GuardrailKeyAliasPrefix => "GuardrailKeyAliasPrefix",
            Reason::GuardrailTenantScope => "GuardrailTenantScope",
            Reason::GuardrailAccount => "GuardrailAccount",
        }
    }

    /// Whether a step that failed for this reason waits for a person (kstatus `Stalled`)
    /// rather than for the next pass (`Reconciling`).
    pub fn needs_a_person(self) -> bool {
        !matches!(self.revisit(), Revisit::WithBackoff)
    }

    /// Whether the reason names a broken guardrail of the platform team's.
    pub fn is_guardrail(self) -> bool {
        matches!(
            self,
            Reason::GuardrailAllowedAccounts
                | Reason::GuardrailOrganization
                | Reason::GuardrailQueueNamePrefix
                | Reason::GuardrailKeyAliasPrefix
                | Reason::GuardrailTenantScope
                | Reason::GuardrailAccount
        )
    }

    /// When a SecureQueue whose `Ready` is False for this reason is looked at again.
    pub fn revisit(self) -> Revisit {
        match self {
            Reason::InvalidSpec | Reason::ImmutableFieldChanged => Revisit::WhenTheSpecChanges,
            guardrail if guardrail.is_guardrail() => Revisit::WhenTheSpecChanges,
            Reason::Interrupted => Revisit::WithBackoff,
            Reason::Throttled
            | Reason::AwsUnavailable
            | Reason::QueuePolicyPropagating
            | Reason::WaitingForRequestQuota
            | Reason::AdoptionPending
            | Reason::Blocked => Revisit::WithBackoff,
            _ => Revisit::AtResync,
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Reason {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_serializes_as_it_is_written() {
        for reason in [
            Reason::Created,
            Reason::GuardrailKeyAliasPrefix,
            Reason::Blocked,
        ] {
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                serde_json::json!(reason.as_str())
            );
        }
    }

    #[test]
    fn only_a_spec_problem_waits_for_the_spec_and_only_a_transient_one_backs_off() {
        assert_eq!(
            Reason::GuardrailOrganization.revisit(),
            Revisit::WhenTheSpecChanges
        );
        assert_eq!(Reason::NameConflict.revisit(), Revisit::AtResync);
        assert_eq!(Reason::Throttled.revisit(), Revisit::WithBackoff);
        assert!(Reason::AccessDenied.needs_a_person());
        assert!(!Reason::QueuePolicyPropagating.needs_a_person());
    }
}
