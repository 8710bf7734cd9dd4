//! Why a step failed, and the condition reason that says so.

use crate::api::conditions::Reason;
use crate::aws::{AwsError, ErrorKind};
use crate::policy::statements::OPERATOR_QUEUE_ACTIONS;

/// A failed step.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// An AWS call failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The name belongs to a resource this SecureQueue does not own.
    #[error("{0}")]
    NameConflict(String),
    /// The resource has no owner and the SecureQueue adopts it, but `status.adoption` does
    /// not list it yet.
    #[error("{0}")]
    AdoptionUnrecorded(String),
    /// The key is in a state the operator cannot repair.
    #[error("{0}")]
    KeyUnusable(String),
    /// A write to a resource being adopted was refused: its owner has not yet granted the
    /// operator's role in the resource's own policy.
    #[error("{0}")]
    AdoptionNotGranted(String),
    /// The existing queue differs in something only CreateQueue sets.
    #[error("{0}")]
    Immutable(String),
    /// A queue made in this pass cannot be tagged yet: SQS has not applied its policy, which is
    /// what lets the operator tag it. The text names the queue.
    #[error("{0}")]
    QueuePolicyPropagating(String),
    /// The record a CreateKey needs first could not be written to the SecureQueue's status
    /// (see [`super::ledger`]); no key was created.
    #[error(
        "the key was not created, as the record of its creation could not be written to the SecureQueue's status first ({0}); the next pass retries"
    )]
    CreationUnrecorded(String),
}

impl From<super::ownership::Refusal> for StepError {
    fn from(refusal: super::ownership::Refusal) -> Self {
        match refusal {
            super::ownership::Refusal::Conflict(why) => StepError::NameConflict(why),
            super::ownership::Refusal::Unrecorded(why) => StepError::AdoptionUnrecorded(why),
        }
    }
}

/// Whether the SQS operation is one the operator may take only through the queue's own policy.
fn is_queue_write(operation: &str) -> bool {
    OPERATOR_QUEUE_ACTIONS
        .iter()
        .any(|action| action.strip_prefix("sqs:") == Some(operation))
}

impl StepError {
    /// The condition reason.
    pub fn reason(&self) -> Reason {
        match self {
            StepError::Aws(e) => match e.kind {
                ErrorKind::AccessDenied => Reason::AccessDenied,
                ErrorKind::Throttled => Reason::Throttled,
                ErrorKind::PolicyRejected => Reason::PolicyRejected,
                ErrorKind::Rejected => Reason::AwsRejected,
                ErrorKind::Unavailable => Reason::AwsUnavailable,
                ErrorKind::Interrupted => Reason::Interrupted,
            },
            StepError::NameConflict(_) => Reason::NameConflict,
            StepError::AdoptionUnrecorded(_) => Reason::AdoptionPending,
            StepError::KeyUnusable(_) => Reason::KeyUnusable,
            StepError::AdoptionNotGranted(_) => Reason::AccessDenied,
            StepError::Immutable(_) => Reason::ImmutableFieldChanged,
            StepError::QueuePolicyPropagating(_) => Reason::QueuePolicyPropagating,
            StepError::CreationUnrecorded(_) => Reason::Interrupted,
        }
    }

    /// The error of a step adopting a resource: a refused write means that the resource's
    /// owner has not granted the operator's role, which the operator's IAM policy never lets it
    /// take by itself, so the message says what `grant` to add.
    pub(super) fn adopting(self, grant: &str) -> Self {
        match self {
            StepError::Aws(e) if e.kind == ErrorKind::AccessDenied => {
                StepError::AdoptionNotGranted(format!(
                    "{e}. securequeue adopts only what its owner hands over: its IAM policy refuses every takeover, so {grant} (see docs/migrating.md); the next pass adopts it"
                ))
            }
            other => other,
        }
    }

    /// The error, its message ending with the spec field that names the resource.
    pub(super) fn in_field(self, field: &str) -> Self {
        match self {
            StepError::NameConflict(why) => StepError::NameConflict(format!("{why} in {field}")),
            other => other,
        }
    }

    /// Whether the key step certainly made no key: CreateKey itself was refused or never sent.
    /// Any later failure of a fresh key step (CreateAlias, EnableKeyRotation) comes after a
    /// key was made, and a CreateKey whose answer was lost may have made one.
    pub fn created_no_key(&self) -> bool {
        match self {
            StepError::Aws(e) => e.operation == "CreateKey" && e.kind != ErrorKind::Unavailable,
            StepError::CreationUnrecorded(_) => true,
            _ => false,
        }
    }

    /// The message for people: what failed and what to do.
    pub fn message(&self) -> String {
        match self {
            StepError::Aws(e) => {
                let advice = match e.kind {
                    ErrorKind::AccessDenied
                        if e.service == "sqs" && is_queue_write(e.operation) =>
                    {
                        " The operator changes a queue only through that queue's own policy: an administrator must put its AllowTheOperatorToManageTheQueue statement back (see docs/aws-permissions.md)."
                    }
                    ErrorKind::AccessDenied if e.service == "sts" => {
                        " The role's trust policy must trust the operator's own role (with the binding's external id, if any), and the operator's role must be allowed sts:AssumeRole on it: `securequeue iam-policy --account-id ACCOUNT --trusted-principal OPERATOR_ROLE` prints both."
                    }
                    ErrorKind::AccessDenied => {
                        " Grant the operator's IAM role this action (see the operator's IAM policy in docs/aws-permissions.md)."
                    }
                    ErrorKind::PolicyRejected => {
                        " Check that every role the spec names exists: KMS refuses key policies naming roles that do not."
                    }
                    ErrorKind::Throttled | ErrorKind::Unavailable | ErrorKind::Interrupted => {
                        " The next pass retries."
                    }
                    ErrorKind::Rejected => "",
                };
                format!("{e}.{advice}")
            }
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied(service: &'static str, operation: &'static str) -> StepError {
        StepError::Aws(AwsError {
            service,
            operation,
            code: "AccessDenied".into(),
            message: "denied".into(),
            kind: ErrorKind::AccessDenied,
        })
    }

    #[test]
    fn a_denied_queue_write_points_at_the_queue_policy_and_anything_else_at_iam() {
        for operation in [
            "SetQueueAttributes",
            "TagQueue",
            "UntagQueue",
            "DeleteQueue",
        ] {
            let message = denied("sqs", operation).message();
            assert!(
                message.contains("AllowTheOperatorToManageTheQueue"),
                "{message}"
            );
        }
        for (service, operation) in [("sqs", "CreateQueue"), ("kms", "TagResource")] {
            let message = denied(service, operation).message();
            assert!(message.contains("IAM role"), "{message}");
        }
    }

    #[test]
    fn a_refused_adoption_says_what_the_owner_must_grant_and_other_errors_stay() {
        let refused = denied("sqs", "SetQueueAttributes").adopting("add the grant");
        assert_eq!(refused.reason(), Reason::AccessDenied);
        assert!(
            refused.message().contains("add the grant"),
            "{}",
            refused.message()
        );
        let conflict = StepError::NameConflict("taken".into()).adopting("add the grant");
        assert_eq!(conflict.message(), "taken");
    }

    #[test]
    fn waiting_for_a_queue_policy_needs_no_person() {
        let waiting = StepError::QueuePolicyPropagating("created the queue `q`".into());
        assert!(!waiting.reason().needs_a_person());
        assert_eq!(waiting.reason(), Reason::QueuePolicyPropagating);
    }
}
