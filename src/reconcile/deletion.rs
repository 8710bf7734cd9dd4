//! A deletion pass: the queue, then the dead-letter queue, then the key
//! ([`Part::DELETION_ORDER`]), each only if it is the SecureQueue's own; the first step that
//! fails blocks the rest.

use crate::api::{DeletionPolicy, SecureQueue};
use crate::aws::Clients;
use crate::part::Part;
use crate::plan::{self, Plan};
use crate::resolve::Environment;

use super::error::StepError;
use super::key::{self, Keys};
use super::memory::{self, Memory};
use super::outcome::{DeletionOutcome, Ended, Refused};
use super::ownership::Owner;
use super::queue;
use super::steps::{Start, in_order};

/// The plan whose resources a deletion of `queue` in `env` deletes, `memory` having forgotten
/// them; or, when nothing is to be deleted, what the deletion comes to.
pub(super) fn plan(
    queue: &SecureQueue,
    env: &Environment,
    memory: &Memory,
) -> Result<Plan, DeletionOutcome> {
    // A SecureQueue a guardrail refuses was planned without the guardrails, if ever: any
    // resources of it are where that plan puts them.
    let built = plan::build_resolved(queue, env).or_else(|problems| {
        if problems.iter().any(|p| p.refusal.is_guardrail()) {
            plan::build_resolved(queue, &env.without_guardrails())
        } else {
            Err(problems)
        }
    });
    // Whatever the policy, the SecureQueue is going: nothing of it stays in memory, and a
    // deletion looks everything up afresh.
    if let Ok((_, plan)) = &built {
        memory.forget(&memory::slots(plan).each_ref());
    }
    if queue.spec.deletion_policy == DeletionPolicy::Retain {
        return Err(DeletionOutcome::Retained);
    }
    match built.and_then(|built| plan::hold(queue, built)) {
        Ok((_, plan)) => Ok(plan),
        Err(problems) => Err(DeletionOutcome::Untold(Refused::of(&problems))),
    }
}

/// Deletes `plan`'s parts that are ours, in deletion order; says what each step did.
pub(super) async fn delete(
    clients: &Clients,
    keys: &Keys<'_>,
    plan: &Plan,
) -> Vec<(Part, Ended<String>)> {
    let owner = &Owner::from_tags(&plan.key.tags);
    let step = |part: Part| -> Start<'_, Result<String, StepError>> {
        match part {
            Part::Queue => {
                Box::new(move || Box::pin(queue::delete(&clients.sqs, &plan.queue, owner, part)))
            }
            Part::DeadLetterQueue => Box::new(move || {
                Box::pin(queue::delete(
                    &clients.sqs,
                    &plan.dead_letter_queue,
                    owner,
                    part,
                ))
            }),
            Part::Key => {
                Box::new(move || Box::pin(key::delete(&clients.kms, &plan.key, owner, keys)))
            }
        }
    };
    let steps = Part::DELETION_ORDER
        .into_iter()
        .map(|part| (part, step(part)))
        .collect();
    in_order(steps, Result::is_ok)
        .await
        .into_iter()
        .map(|(part, deleted)| (part, deleted.map_or(Ended::Blocked, Ended::from)))
        .collect()
}
