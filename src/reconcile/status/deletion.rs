//! A deletion pass's report: each part's condition, in deletion order.

use crate::api::conditions::Reason;
use crate::aws::calls::CallCounts;
use crate::part::Part;
use crate::reconcile::outcome::{DeletionOutcome, Refused};
use crate::reconcile::report::{Deletion, StepReport};

use super::{blocked_after, conditions};

/// The report of a deletion of `name` that came to `outcome`.
pub(in crate::reconcile) fn report(name: String, outcome: DeletionOutcome) -> Deletion {
    let untouched = |steps| Deletion {
        name: name.clone(),
        steps,
        calls: CallCounts::default(),
    };
    match outcome {
        DeletionOutcome::Observed => untouched(every_part_retained(
            "spec.management is Observe: securequeue never writes to or deletes what it observes",
        )),
        DeletionOutcome::Retained => untouched(every_part_retained(
            "deletionPolicy is Retain: left in AWS with its messages",
        )),
        DeletionOutcome::Unbound(Refused { reason, message }) => untouched(undeletable(
            reason,
            format!(
                "nothing was deleted: {message}; restore the binding to delete the resources, or set deletionPolicy: Retain to leave them in AWS"
            ),
        )),
        DeletionOutcome::Untold(Refused { reason, message }) => untouched(undeletable(
            reason,
            format!("cannot tell which resources to delete: {message}"),
        )),
        DeletionOutcome::Ran { steps, calls } => {
            let parts: Vec<_> = steps.iter().map(|(part, ended)| (*part, ended)).collect();
            // A step that held says what it deleted, or found already gone.
            let deleted = |part: Part, done: &String| {
                StepReport::done(part.condition(), Reason::Deleted, done.clone())
            };
            Deletion {
                steps: conditions(&parts, deleted),
                name,
                calls,
            }
        }
    }
}

/// Every part left in AWS, for `why`.
fn every_part_retained(why: &str) -> Vec<StepReport> {
    Part::DELETION_ORDER
        .map(|part| StepReport::done(part.condition(), Reason::Retained, why.to_string()))
        .to_vec()
}

/// The deletion steps of a SecureQueue whose resources cannot be deleted: the first fails with
/// `why`, the rest are blocked.
fn undeletable(why: Reason, message: String) -> Vec<StepReport> {
    let [first, rest @ ..] = Part::DELETION_ORDER;
    blocked_after(StepReport::failed(first.condition(), why, message), &rest)
}
