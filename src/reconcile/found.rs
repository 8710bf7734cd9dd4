//! What a pass's lookups found, before anything is written: where the resources are, what
//! their policies in AWS allow (the intent table's rows they break, who gains and who loses
//! access when the plan's replace them), and which resources are used although they are not the
//! SecureQueue's own.

use crate::api::Placement;
use crate::evaluate::access_diff::{self, AccessChange};
use crate::evaluate::intent;
use crate::part::Part;
use crate::plan::Plan;
use crate::policy::normalize;
use crate::resolve::Resolved;

use super::error::StepError;
use super::key::KeyFound;
use super::outcome::{Read, Stepped};
use super::queue::ExistingQueue;
use super::report::{Adoption, Finding};

/// The three lookups of a pass, each found or failed.
pub(super) struct Looked {
    pub key: Result<KeyFound, StepError>,
    pub dead_letter_queue: Result<Option<ExistingQueue>, StepError>,
    pub queue: Result<Option<ExistingQueue>, StepError>,
}

impl Looked {
    /// Where the resources are, when the lookups found any resource of this SecureQueue.
    pub fn identity(&self, resolved: &Resolved) -> Option<Placement> {
        let key_id = match &self.key {
            Ok(KeyFound::Present(key)) => Some(key.key_id()),
            _ => None,
        };
        let a_queue =
            matches!(self.dead_letter_queue, Ok(Some(_))) || matches!(self.queue, Ok(Some(_)));
        (key_id.is_some() || a_queue).then(|| located(resolved, key_id))
    }

    /// What the lookups found, when all three could read their part; otherwise each part's
    /// step: the failed lookups, and the other parts blocked.
    pub fn found(self) -> Result<Found, Vec<Stepped>> {
        match (self.key, self.dead_letter_queue, self.queue) {
            (Ok(key), Ok(dead_letter_queue), Ok(queue)) => Ok(Found {
                key,
                dead_letter_queue,
                queue,
            }),
            (key, dead_letter_queue, queue) => {
                let errors = [key.err(), dead_letter_queue.err(), queue.err()];
                Err(Part::ALL
                    .into_iter()
                    .zip(errors)
                    .map(|(part, error)| match error {
                        Some(error) => Stepped::failed(part, error),
                        None => Stepped::blocked(part),
                    })
                    .collect())
            }
        }
    }
}

/// The identity of resources known to exist, with the key's id when it is known.
pub(super) fn located(resolved: &Resolved, key_id: Option<&str>) -> Placement {
    Placement {
        key_id: key_id.map(str::to_string),
        ..resolved.placement()
    }
}

/// What a pass's lookups found, all three read.
pub(super) struct Found {
    pub key: KeyFound,
    pub dead_letter_queue: Option<ExistingQueue>,
    pub queue: Option<ExistingQueue>,
}

/// A policy as AWS hands back a queue without one: no statement, so none of the Denies.
const EMPTY_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[]}"#;

/// A queue's policy as the access diff takes it: `None` without the queue, and a queue without
/// a policy as an empty one.
fn queue_version(queue: Option<&ExistingQueue>) -> Option<Option<&str>> {
    queue.map(|q| Some(q.policy().unwrap_or(EMPTY_POLICY)))
}

impl Found {
    /// What the policies in AWS allow, and what the pass takes over.
    pub fn read(&self, plan: &Plan, resolved: &Resolved) -> Read {
        Read {
            findings: self.access_findings(plan, resolved),
            changes: self.access_changes(plan, resolved),
            adoption: self.adoption(plan),
        }
    }

    /// Checks the policies as read back from AWS (the plan's where nothing was read) against
    /// the intent table: drift that opened access is reported even before this pass corrects
    /// it. A queue without a policy has none of the Denies: it is evaluated as an empty policy.
    fn access_findings(&self, plan: &Plan, resolved: &Resolved) -> Vec<Finding> {
        let planned = intent::Policies::of(plan);
        let read = |text: Option<&str>, fallback: &serde_json::Value| {
            text.map_or_else(
                || fallback.clone(),
                |t| serde_json::from_str(t).unwrap_or(serde_json::Value::Null),
            )
        };
        let observed = intent::Policies {
            key: read(self.key.observed_policy(), &planned.key),
            dead_letter_queue: read(
                queue_version(self.dead_letter_queue.as_ref()).flatten(),
                &planned.dead_letter_queue,
            ),
            queue: read(queue_version(self.queue.as_ref()).flatten(), &planned.queue),
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

    /// Who gains and loses what when the plan's policies replace the existing resources' (a
    /// queue without a policy has an empty one). Only policies that differ are evaluated: the
    /// same policy changes nobody's access.
    fn access_changes(&self, plan: &Plan, resolved: &Resolved) -> Vec<AccessChange> {
        let planned = intent::Policies::of(plan);
        let key = match &self.key {
            KeyFound::Present(key) => Some((key.arn(), self.key.observed_policy())),
            KeyFound::Absent => None,
        };
        let key_arn = key.map_or("", |(arn, _)| arn);
        let versions = [
            (Part::Key, key_arn, key.map(|(_, p)| p), &planned.key),
            (
                Part::DeadLetterQueue,
                plan.dead_letter_queue.arn.as_str(),
                queue_version(self.dead_letter_queue.as_ref()),
                &planned.dead_letter_queue,
            ),
            (
                Part::Queue,
                plan.queue.arn.as_str(),
                queue_version(self.queue.as_ref()),
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
        if let KeyFound::Present(key) = &self.key
            && let Some(arn) = key.adopted()
        {
            adoption.resources.push(arn.to_string());
        }
        for (queue, queue_plan) in [
            (&self.dead_letter_queue, &plan.dead_letter_queue),
            (&self.queue, &plan.queue),
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
