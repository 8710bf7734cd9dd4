//! A pass as named steps: key, dead-letter queue, queue for a converge; queue, dead-letter
//! queue, key for a deletion. The steps run in order, folded by [`in_order`]: the first that
//! does not hold blocks the rest, which are never started.
//!
//! Each converge step has three parts: read (all three steps read at once, before anything is
//! written), check ownership (nothing is written while any resource is unreadable or taken),
//! and write what differs.

use std::future::Future;
use std::pin::Pin;

use crate::api::conditions::{DEAD_LETTER_QUEUE_READY, KEY_READY, QUEUE_READY, Reason};
use crate::api::{ResourceIdentity, SecureQueueStatus};
use crate::aws::Clients;
use crate::evaluate::access_diff::{self, AccessChange};
use crate::evaluate::intent;
use crate::part::Part;
use crate::plan::Plan;
use crate::policy::normalize;
use crate::resolve::Resolved;

use super::error::StepError;
use super::key::{self, KeyFound, Keys};
use super::memory::{self, Outcome, Recall};
use super::ownership::{Claim, Owner};
use super::queue::{self, ExistingQueue};
use super::report::{Adoption, Correction, Finding, Repair, Report};
use super::status::{self, StepReport};

/// The converge steps' conditions, in order.
pub(super) const CONVERGE_ORDER: [&str; 3] = [KEY_READY, DEAD_LETTER_QUEUE_READY, QUEUE_READY];
/// The deletion steps' conditions, in order.
const DELETE_ORDER: [&str; 3] = [QUEUE_READY, DEAD_LETTER_QUEUE_READY, KEY_READY];

const DEAD_LETTER_QUEUE: &str = "dead-letter queue";
/// What a queue's owner grants before it can be adopted.
const QUEUE_GRANT: &str = "its owner must first add the statement AllowTheOperatorToManageTheQueue (the operator's role may sqs:SetQueueAttributes, sqs:TagQueue, sqs:UntagQueue and sqs:DeleteQueue on the queue) to the queue's policy";
/// What a key's owner grants before it can be adopted.
const KEY_GRANT: &str = "its owner must first add the operator's role to the key policy as an administrator of the key (kms:PutKeyPolicy, kms:TagResource, kms:UntagResource, kms:EnableKeyRotation, kms:UpdateKeyDescription, kms:ScheduleKeyDeletion)";
const QUEUE: &str = "queue";

/// What one step did.
struct Stepped {
    report: StepReport,
    corrections: Vec<Repair>,
    /// The status fields it learned.
    learned: SecureQueueStatus,
    /// What the pass's memory keeps of it.
    outcome: Option<Outcome>,
}

impl Stepped {
    fn failed(condition: &'static str, error: &StepError) -> Self {
        Self::only(failed(condition, error))
    }

    fn only(report: StepReport) -> Self {
        Self {
            report,
            corrections: Vec::new(),
            learned: SecureQueueStatus::default(),
            outcome: None,
        }
    }
}

type Step<'a> = Pin<Box<dyn Future<Output = Stepped> + Send + 'a>>;

/// A step not yet started: its future, and the room it takes, are made only when its turn
/// comes, so a pass waiting in its first step (for CreateKey, behind a thousand others) holds
/// no room for the later ones.
type Start<'a> = Box<dyn FnOnce() -> Step<'a> + Send + 'a>;

/// Runs the steps in order; once one does not hold, the rest are not started and report
/// `Blocked`.
async fn in_order(steps: Vec<(&'static str, Start<'_>)>) -> Vec<Stepped> {
    let mut done: Vec<Stepped> = Vec::new();
    for (condition, start) in steps {
        match done.iter().find(|s| !s.report.holds()) {
            Some(cause) => {
                let blocked = StepReport::blocked(condition, &cause.report);
                done.push(Stepped::only(blocked));
            }
            None => done.push(start().await),
        }
    }
    done
}

/// The reports of the steps after a failure: `failed`, then each of `rest` blocked by it.
pub(super) fn blocked_after(failed: StepReport, rest: &[&'static str]) -> Vec<StepReport> {
    let blocked = rest.iter().map(|c| StepReport::blocked(c, &failed));
    std::iter::once(failed.clone()).chain(blocked).collect()
}

fn failed(condition: &'static str, error: &StepError) -> StepReport {
    StepReport::failed(condition, error.reason(), error.message())
}

/// One converge pass over a verified plan: reads, checks ownership, then writes step by step.
/// Fills `report` and returns what the memory keeps, when every step held.
pub(super) async fn converge(
    clients: &Clients,
    keys: &Keys<'_>,
    plan: &Plan,
    resolved: &Resolved,
    recalls: &[Recall; 3],
    claim: &Claim<'_>,
    report: &mut Report,
) -> Option<[Outcome; 3]> {
    let owner = Owner::from_tags(&plan.key.tags);
    let [key_recall, dead_letter_recall, queue_recall] = recalls;
    // Each lookup on the heap while it runs: once they are done, the pass keeps no room for
    // them while it waits in its steps.
    let (key_found, dead_letter_found, queue_found) = tokio::join!(
        Box::pin(key::observe(
            &clients.kms,
            &plan.key,
            &owner,
            claim,
            keys,
            key_recall
        )),
        Box::pin(queue::observe(
            &clients.sqs,
            &plan.dead_letter_queue,
            &owner,
            claim,
            DEAD_LETTER_QUEUE,
            dead_letter_recall
        )),
        Box::pin(queue::observe(
            &clients.sqs,
            &plan.queue,
            &owner,
            claim,
            QUEUE,
            queue_recall
        )),
    );
    let identity = found(resolved, &key_found, &dead_letter_found, &queue_found);
    report.learned.identity = identity.clone();
    let (key_found, dead_letter_found, queue_found) =
        match (key_found, dead_letter_found, queue_found) {
            (Ok(k), Ok(d), Ok(q)) => (k, d, q),
            (k, d, q) => {
                report.finish(unreadable([k.err(), d.err(), q.err()]));
                return None;
            }
        };
    report.access_findings = access_findings(
        plan,
        resolved,
        key_found.observed_policy(),
        // A queue without a policy has none of the Denies: evaluated as an empty policy.
        dead_letter_found
            .as_ref()
            .map(|q| q.policy().unwrap_or(EMPTY_POLICY)),
        queue_found
            .as_ref()
            .map(|q| q.policy().unwrap_or(EMPTY_POLICY)),
    );
    let found = Found {
        key: &key_found,
        dead_letter_queue: dead_letter_found.as_ref(),
        queue: queue_found.as_ref(),
    };
    report.access_changes = found.access_changes(plan, resolved);
    report.adoption = found.adoption(plan);
    let steps: Vec<(&'static str, Start<'_>)> = vec![
        (
            KEY_READY,
            Box::new(move || {
                Box::pin(key_step(clients, keys, plan, resolved, key_found, identity))
            }),
        ),
        (
            DEAD_LETTER_QUEUE_READY,
            Box::new(move || Box::pin(dead_letter_queue_step(clients, plan, dead_letter_found))),
        ),
        (
            QUEUE_READY,
            Box::new(move || Box::pin(queue_step(clients, plan, queue_found))),
        ),
    ];
    let stepped = in_order(steps).await;
    fold(stepped, report)
}

/// The conditions of a pass that could not read or own everything: each failed lookup, and
/// the others blocked by the first failure.
fn unreadable(errors: [Option<StepError>; 3]) -> Vec<StepReport> {
    let observed: Vec<_> = CONVERGE_ORDER.into_iter().zip(errors).collect();
    let first = observed
        .iter()
        .find_map(|(c, e)| e.as_ref().map(|e| failed(c, e)))
        .expect("one observation failed");
    observed
        .iter()
        .map(|(c, e)| match e {
            Some(e) => failed(c, e),
            None => StepReport::blocked(c, &first),
        })
        .collect()
}

/// Gathers the steps into the report; the memory's outcomes when every step held.
fn fold(stepped: Vec<Stepped>, report: &mut Report) -> Option<[Outcome; 3]> {
    let mut reports = Vec::new();
    let mut outcomes = Vec::new();
    for step in stepped {
        let condition = step.report.condition;
        report
            .corrections
            .extend(step.corrections.into_iter().map(|repair| Correction {
                step: condition,
                repair,
            }));
        report.learned = status::newer(std::mem::take(&mut report.learned), step.learned);
        outcomes.extend(step.outcome);
        reports.push(step.report);
    }
    report.finish(reports);
    let outcomes: [Outcome; 3] = outcomes.try_into().ok()?;
    report.is_ready().then_some(outcomes)
}

/// The reason and message of a step that held.
fn done_message(
    what: &str,
    id: &str,
    (created, adopted): (bool, bool),
    repairs: &[Repair],
) -> (Reason, String) {
    if adopted && !repairs.is_empty() {
        let notes: Vec<&str> = repairs.iter().map(|r| r.note.as_str()).collect();
        (
            Reason::Adopted,
            format!("adopted the {what} {id}: {}", notes.join("; ")),
        )
    } else if created {
        (Reason::Created, format!("created the {what} {id}"))
    } else if repairs.is_empty() {
        (
            Reason::Converged,
            format!("the {what} {id} matches the spec"),
        )
    } else {
        let notes: Vec<&str> = repairs.iter().map(|r| r.note.as_str()).collect();
        (
            Reason::DriftCorrected,
            format!("the {what} {id} had drifted: {}", notes.join("; ")),
        )
    }
}

/// The key step: create the key, or put back what drifted. The identity is known once a key
/// may exist: after any failure but a CreateKey that certainly made none.
async fn key_step(
    clients: &Clients,
    keys: &Keys<'_>,
    plan: &Plan,
    resolved: &Resolved,
    found: KeyFound,
    identity: Option<ResourceIdentity>,
) -> Stepped {
    let adopted = matches!(&found, KeyFound::Present(key) if key.adopted().is_some());
    let key = match key::ensure(&clients.kms, &plan.key, keys, found).await {
        Ok(key) => key,
        Err(e) => {
            let e = if adopted { e.adopting(KEY_GRANT) } else { e };
            let mut stepped = Stepped::failed(KEY_READY, &e);
            stepped.learned.identity = if e.created_no_key() {
                identity
            } else {
                identity.or_else(|| Some(located(resolved, None)))
            };
            return stepped;
        }
    };
    let (reason, message) = done_message(
        "key",
        &format!("{} ({})", key.info.arn, plan.key.alias),
        (key.created, key.adopted),
        &key.corrections,
    );
    Stepped {
        report: StepReport::done(KEY_READY, reason, message),
        learned: SecureQueueStatus {
            key_arn: Some(key.info.arn.clone()),
            identity: Some(located(resolved, Some(&key.info.key_id))),
            ..SecureQueueStatus::default()
        },
        outcome: Some(Outcome {
            identity: Some(memory::Identity::Key(key.info.key_id)),
            tags_read: key.tags_read,
        }),
        corrections: key.corrections,
    }
}

/// The dead-letter queue step; a converged dead-letter queue holding messages says so.
async fn dead_letter_queue_step(
    clients: &Clients,
    plan: &Plan,
    found: Option<ExistingQueue>,
) -> Stepped {
    let adopted = found.as_ref().is_some_and(ExistingQueue::adopted);
    let done = match queue::ensure(&clients.sqs, &plan.dead_letter_queue, found).await {
        Ok(done) => done,
        Err(e) if adopted => {
            return Stepped::failed(DEAD_LETTER_QUEUE_READY, &e.adopting(QUEUE_GRANT));
        }
        Err(e) => return Stepped::failed(DEAD_LETTER_QUEUE_READY, &e),
    };
    let (reason, message) = done_message(
        DEAD_LETTER_QUEUE,
        &done.url,
        (done.created, done.adopted),
        &done.corrections,
    );
    let report = match done.messages {
        Some(waiting) if waiting > 0 && reason == Reason::Converged => StepReport::done(
            DEAD_LETTER_QUEUE_READY,
            Reason::MessagesInDeadLetterQueue,
            format!(
                "{waiting} messages wait in the dead-letter queue {}: consumers are failing to process them",
                done.url
            ),
        ),
        _ => StepReport::done(DEAD_LETTER_QUEUE_READY, reason, message),
    };
    Stepped {
        report,
        learned: SecureQueueStatus {
            dead_letter_queue_arn: Some(plan.dead_letter_queue.arn.clone()),
            dead_letter_queue_url: Some(done.url),
            dead_letter_queue_messages: done.messages,
            ..SecureQueueStatus::default()
        },
        outcome: Some(Outcome {
            identity: done.identity,
            tags_read: done.tags_read,
        }),
        corrections: done.corrections,
    }
}

/// The main queue step.
async fn queue_step(clients: &Clients, plan: &Plan, found: Option<ExistingQueue>) -> Stepped {
    let adopted = found.as_ref().is_some_and(ExistingQueue::adopted);
    let done = match queue::ensure(&clients.sqs, &plan.queue, found).await {
        Ok(done) => done,
        Err(e) if adopted => return Stepped::failed(QUEUE_READY, &e.adopting(QUEUE_GRANT)),
        Err(e) => return Stepped::failed(QUEUE_READY, &e),
    };
    let (reason, message) = done_message(
        QUEUE,
        &done.url,
        (done.created, done.adopted),
        &done.corrections,
    );
    Stepped {
        report: StepReport::done(QUEUE_READY, reason, message),
        learned: SecureQueueStatus {
            queue_name: Some(plan.queue.name.clone()),
            queue_arn: Some(plan.queue.arn.clone()),
            queue_url: Some(done.url),
            ..SecureQueueStatus::default()
        },
        outcome: Some(Outcome {
            identity: done.identity,
            tags_read: done.tags_read,
        }),
        corrections: done.corrections,
    }
}

/// The identity of what the lookups found, when they found any resource of this SecureQueue.
fn found(
    resolved: &Resolved,
    key: &Result<KeyFound, StepError>,
    dead_letter_queue: &Result<Option<ExistingQueue>, StepError>,
    queue: &Result<Option<ExistingQueue>, StepError>,
) -> Option<ResourceIdentity> {
    let key_id = match key {
        Ok(KeyFound::Present(key)) => Some(key.key_id()),
        _ => None,
    };
    let a_queue = matches!(dead_letter_queue, Ok(Some(_))) || matches!(queue, Ok(Some(_)));
    (key_id.is_some() || a_queue).then(|| located(resolved, key_id))
}

/// The identity of resources known to exist, with the key's id when it is known.
fn located(resolved: &Resolved, key_id: Option<&str>) -> ResourceIdentity {
    ResourceIdentity {
        key_id: key_id.map(str::to_string),
        ..resolved.identity()
    }
}

const EMPTY_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[]}"#;

/// A queue's policy as the access diff takes it: `None` without the queue, and a queue without
/// a policy as an empty one.
fn queue_version(queue: Option<&ExistingQueue>) -> Option<Option<&str>> {
    queue.map(|q| Some(q.policy().unwrap_or(EMPTY_POLICY)))
}

/// What a pass's lookups found, all three read.
struct Found<'a> {
    key: &'a KeyFound,
    dead_letter_queue: Option<&'a ExistingQueue>,
    queue: Option<&'a ExistingQueue>,
}

impl Found<'_> {
    /// Who gains and loses what when the plan's policies replace the existing resources' (a
    /// queue without a policy has an empty one). Only policies that differ are evaluated: the
    /// same policy changes nobody's access.
    fn access_changes(&self, plan: &Plan, resolved: &Resolved) -> Vec<AccessChange> {
        let planned = intent::Policies::of(plan);
        let key = match self.key {
            KeyFound::Present(key) => Some((key.arn(), self.key.observed_policy())),
            KeyFound::Absent => None,
        };
        let key_arn = key.map_or("", |(arn, _)| arn);
        let versions = [
            (Part::Key, key_arn, key.map(|(_, p)| p), &planned.key),
            (
                Part::DeadLetterQueue,
                plan.dead_letter_queue.arn.as_str(),
                queue_version(self.dead_letter_queue),
                &planned.dead_letter_queue,
            ),
            (
                Part::Queue,
                plan.queue.arn.as_str(),
                queue_version(self.queue),
                &planned.queue,
            ),
        ];
        let mut changes = Vec::new();
        for (part, arn, observed, wanted) in versions {
            // A resource to be made has nobody's access to change, and a key whose policy was
            // not read (it is repaired first) is left out.
            let Some(Some(text)) = observed else { continue };
            // Compared by meaning: AWS hands policies back respelled.
            if normalize::canonical_policy(text) == normalize::canonical_policy(&wanted.to_string())
            {
                continue;
            }
            let before = serde_json::from_str(text).unwrap_or(serde_json::Value::Null);
            match access_diff::diff(resolved, part, arn, Some(&before), Some(wanted)) {
                Ok(found) => changes.extend(found),
                Err(e) => {
                    tracing::warn!(%arn, error = %e, "the access diff could not be evaluated")
                }
            }
        }
        changes
    }

    /// The resources used although they are not ours, and the keys they are encrypted with
    /// now that the plan replaces.
    fn adoption(&self, plan: &Plan) -> Adoption {
        let mut adoption = Adoption::default();
        if let KeyFound::Present(key) = self.key
            && let Some(arn) = key.adopted()
        {
            adoption.resources.push(arn.to_string());
        }
        for (queue, queue_plan) in [
            (self.dead_letter_queue, &plan.dead_letter_queue),
            (self.queue, &plan.queue),
        ] {
            let Some(queue) = queue else { continue };
            if queue.adopted() {
                adoption.resources.push(queue_plan.arn.clone());
            }
            if let Some(key) = queue.replaced_key(queue_plan) {
                adoption
                    .replaced_keys
                    .push(format!("{}: {key}", queue_plan.arn));
            }
        }
        adoption
    }
}

/// Checks the policies as read back from AWS (the plan's where nothing was read) against the
/// intent table: drift that opened access is reported even before this pass corrects it.
fn access_findings(
    plan: &Plan,
    resolved: &Resolved,
    key: Option<&str>,
    dead_letter_queue: Option<&str>,
    queue: Option<&str>,
) -> Vec<Finding> {
    let planned = intent::Policies::of(plan);
    let read = |text: Option<&str>, fallback: &serde_json::Value| {
        text.map_or_else(
            || fallback.clone(),
            |t| serde_json::from_str(t).unwrap_or(serde_json::Value::Null),
        )
    };
    let observed = intent::Policies {
        key: read(key, &planned.key),
        dead_letter_queue: read(dead_letter_queue, &planned.dead_letter_queue),
        queue: read(queue, &planned.queue),
    };
    match intent::verify(&observed, resolved) {
        Ok(rows) => rows
            .iter()
            .filter(|r| !r.holds)
            .map(|r| Finding {
                target: r.check.target,
                note: format!(
                    "the {:?} policy in AWS broke `{}` ({:?})",
                    r.check.target, r.check.description, r.decision.effect
                ),
            })
            .collect(),
        Err(e) => vec![Finding {
            target: Part::Key,
            note: format!("a policy in AWS could not be evaluated: {e}"),
        }],
    }
}

/// One deletion pass: the queue, then the dead-letter queue, then the key, each only if ours.
pub(super) async fn delete(clients: &Clients, keys: &Keys<'_>, plan: &Plan) -> Vec<StepReport> {
    let owner = Owner::from_tags(&plan.key.tags);
    let deleted = |condition, result: Result<String, StepError>| match result {
        Ok(message) => Stepped::only(StepReport::done(condition, Reason::Deleted, message)),
        Err(e) => Stepped::failed(condition, &e),
    };
    let [queue_ready, dead_letter_ready, key_ready] = DELETE_ORDER;
    let (deleted, owner) = (&deleted, &owner);
    let steps: Vec<(&'static str, Start<'_>)> = vec![
        (
            queue_ready,
            Box::new(move || {
                Box::pin(async move {
                    let result = queue::delete(&clients.sqs, &plan.queue, owner, QUEUE).await;
                    deleted(queue_ready, result)
                })
            }),
        ),
        (
            dead_letter_ready,
            Box::new(move || {
                Box::pin(async move {
                    let queue = &plan.dead_letter_queue;
                    let result = queue::delete(&clients.sqs, queue, owner, DEAD_LETTER_QUEUE).await;
                    deleted(dead_letter_ready, result)
                })
            }),
        ),
        (
            key_ready,
            Box::new(move || {
                Box::pin(async move {
                    let result = key::delete(&clients.kms, &plan.key, owner, keys).await;
                    deleted(key_ready, result)
                })
            }),
        ),
    ];
    in_order(steps)
        .await
        .into_iter()
        .map(|s| s.report)
        .collect()
}

/// Every deletion step retained, by `deletionPolicy: Retain`.
pub(super) fn retained() -> Vec<StepReport> {
    DELETE_ORDER
        .into_iter()
        .map(|c| {
            StepReport::done(
                c,
                Reason::Retained,
                "deletionPolicy is Retain: left in AWS with its messages".to_string(),
            )
        })
        .collect()
}

/// Every deletion step left alone, by `management: Observe`.
pub(super) fn observed_only() -> Vec<StepReport> {
    DELETE_ORDER
        .into_iter()
        .map(|c| {
            StepReport::done(
                c,
                Reason::Retained,
                "spec.management is Observe: securequeue never writes to or deletes what it observes".to_string(),
            )
        })
        .collect()
}

/// The deletion steps of a SecureQueue whose resources cannot be told: the first fails with
/// `why`, the rest are blocked.
pub(super) fn undeletable(why: Reason, message: String) -> Vec<StepReport> {
    blocked_after(
        StepReport::failed(DELETE_ORDER[0], why, message),
        &DELETE_ORDER[1..],
    )
}
