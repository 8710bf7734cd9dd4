//! The reconciler: one pass brings AWS to a SecureQueue's plan, in order, writing only what
//! differs, and reports each step as a condition.
//!
//! A pass first observes all three resources (key, dead-letter queue, queue) in parallel and
//! checks their ownership tags; only when nothing conflicts does it write, in order: key, then
//! dead-letter queue, then queue. Everything that decides access is read back from AWS on every
//! pass, so a pass cut off after any call is finished by the next one; only queue URLs and tags
//! are remembered between passes ([`memory`]), to spare a steady-state pass four reads.

mod diff;
mod error;
mod key;
mod memory;
mod ownership;
mod queue;
pub mod status;

use serde::Serialize;

use crate::api::conditions::{
    DEAD_LETTER_QUEUE_READY, KEY_READY, POLICIES_VERIFIED, QUEUE_READY, reason,
};
use crate::api::{DeletionPolicy, ResourceIdentity, SecureQueue, SecureQueueStatus};
use crate::aws::calls::{CallCounts, CallLog};
use crate::aws::{Aws, Clients};
use crate::evaluate::intent;
use crate::plan::{self, Plan};
use crate::resolve::{self, Environment};
use crate::validation;

pub use error::StepError;
pub use ownership::{Owner, Ownership};
pub use status::StepReport;

const DEAD_LETTER_QUEUE: &str = "dead-letter queue";
const QUEUE: &str = "queue";

/// Converges and deletes SecureQueues with the operator's AWS clients and configuration.
#[derive(Clone, Debug)]
pub struct Reconciler {
    aws: Aws,
    env: Environment,
    key_records: key::KeyRecords,
    memory: memory::Memory,
}

/// What one converge pass found and did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `<namespace>/<name>`.
    pub name: String,
    /// `KeyReady`, `DeadLetterQueueReady`, `QueueReady`, then `Ready`.
    pub conditions: Vec<StepReport>,
    /// Whether a person must change something before a pass can succeed.
    pub needs_a_person: bool,
    /// The key ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_arn: Option<String>,
    /// The dead-letter queue ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_queue_arn: Option<String>,
    /// The dead-letter queue URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_queue_url: Option<String>,
    /// The queue name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<String>,
    /// The queue ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_arn: Option<String>,
    /// The queue URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// The KMS request estimate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_estimated_requests_per_30_days: Option<u64>,
    /// Messages waiting in the dead-letter queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_queue_messages: Option<u64>,
    /// Where the resources live, once this pass knows that any of them exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<ResourceIdentity>,
    /// The rows of the intent table the generated policies passed, before any AWS call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policies_verified: Option<usize>,
    /// Rows of the intent table that the policies read back from AWS broke: drift that opened
    /// (or closed) access, found before this pass corrected it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_findings: Vec<String>,
    /// Drift found and corrected in this pass, one line each.
    pub corrections: Vec<String>,
    /// The AWS calls of this pass.
    pub calls: CallCounts,
}

/// What one deletion pass did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deletion {
    /// `<namespace>/<name>`.
    pub name: String,
    /// The queue, the dead-letter queue and the key, in deletion order.
    pub steps: Vec<StepReport>,
    /// The AWS calls of this pass.
    pub calls: CallCounts,
}

impl Deletion {
    /// Whether nothing is left to do: everything deleted, or retained by policy.
    pub fn finished(&self) -> bool {
        self.steps.iter().all(StepReport::holds)
    }

    /// The first step that did not finish.
    pub fn failure(&self) -> Option<&StepReport> {
        self.steps.iter().find(|s| !s.holds())
    }
}

impl Report {
    fn new(name: String) -> Self {
        Self {
            name,
            conditions: Vec::new(),
            needs_a_person: false,
            key_arn: None,
            dead_letter_queue_arn: None,
            dead_letter_queue_url: None,
            queue_name: None,
            queue_arn: None,
            queue_url: None,
            kms_estimated_requests_per_30_days: None,
            dead_letter_queue_messages: None,
            identity: None,
            policies_verified: None,
            access_findings: Vec::new(),
            corrections: Vec::new(),
            calls: CallCounts::default(),
        }
    }

    /// A report for a SecureQueue refused before any AWS call, with the reason and message of
    /// its `KeyReady` and `Ready` conditions.
    pub fn refused(name: String, why: &'static str, message: String) -> Self {
        let mut report = Self::new(name);
        let first = StepReport::failed(KEY_READY, why, message);
        report.conditions = vec![
            StepReport::blocked(DEAD_LETTER_QUEUE_READY, &first),
            StepReport::blocked(QUEUE_READY, &first),
        ];
        report.conditions.insert(0, first);
        report.conditions.push(status::ready(&report.conditions));
        report.needs_a_person = true;
        report
    }

    /// Whether the `Ready` condition holds.
    pub fn is_ready(&self) -> bool {
        self.conditions.last().is_some_and(StepReport::holds)
    }

    /// The `Ready` condition.
    pub fn ready(&self) -> Option<&StepReport> {
        self.conditions.last()
    }

    /// The SecureQueue status this pass leads to. Values this pass could not learn are kept
    /// from `previous`, so a failed pass does not blank the ARNs.
    pub fn status(
        &self,
        generation: Option<i64>,
        previous: Option<&SecureQueueStatus>,
        now: jiff::Timestamp,
    ) -> SecureQueueStatus {
        let previous = previous.cloned().unwrap_or_default();
        let verified = match self.policies_verified {
            Some(rows) => StepReport::done(
                POLICIES_VERIFIED,
                reason::VERIFIED,
                format!("all {rows} checks of the intent table hold (securequeue verify)"),
            ),
            None if self
                .ready()
                .is_some_and(|r| r.reason == reason::POLICY_VERIFICATION_FAILED) =>
            {
                StepReport::failed(
                    POLICIES_VERIFIED,
                    reason::POLICY_VERIFICATION_FAILED,
                    self.ready().map(|r| r.message.clone()).unwrap_or_default(),
                )
            }
            None => StepReport {
                condition: POLICIES_VERIFIED,
                status: "Unknown",
                reason: reason::BLOCKED,
                message: "the policies were not checked: the spec was refused first".to_string(),
            },
        };
        let mut reports = vec![verified];
        reports.extend(self.conditions.iter().cloned());
        SecureQueueStatus {
            observed_generation: generation,
            conditions: status::to_conditions(&reports, generation, &previous.conditions, now),
            key_arn: self.key_arn.clone().or(previous.key_arn),
            dead_letter_queue_arn: self
                .dead_letter_queue_arn
                .clone()
                .or(previous.dead_letter_queue_arn),
            dead_letter_queue_url: self
                .dead_letter_queue_url
                .clone()
                .or(previous.dead_letter_queue_url),
            queue_name: self.queue_name.clone().or(previous.queue_name),
            queue_arn: self.queue_arn.clone().or(previous.queue_arn),
            queue_url: self.queue_url.clone().or(previous.queue_url),
            kms_estimated_requests_per_30_days: self
                .kms_estimated_requests_per_30_days
                .or(previous.kms_estimated_requests_per_30_days),
            dead_letter_queue_messages: self
                .dead_letter_queue_messages
                .or(previous.dead_letter_queue_messages),
            identity: self.identity.clone().or(previous.identity),
        }
    }

    fn finish(&mut self, steps: Vec<StepReport>) {
        self.conditions = steps;
        self.conditions.push(status::ready(&self.conditions));
    }
}

/// The reports of steps after a failure.
fn blocked_after(failed: StepReport, rest: &[&'static str]) -> Vec<StepReport> {
    let mut steps: Vec<StepReport> = rest
        .iter()
        .map(|c| StepReport::blocked(c, &failed))
        .collect();
    steps.insert(0, failed);
    steps
}

fn failed(condition: &'static str, error: &StepError) -> StepReport {
    StepReport::failed(condition, error.reason(), error.message())
}

fn done_message(
    what: &str,
    id: &str,
    created: bool,
    corrections: &[String],
) -> (&'static str, String) {
    if created {
        (reason::CREATED, format!("created the {what} {id}"))
    } else if corrections.is_empty() {
        (
            reason::CONVERGED,
            format!("the {what} {id} matches the spec"),
        )
    } else {
        (
            reason::DRIFT_CORRECTED,
            format!("the {what} {id} had drifted: {}", corrections.join("; ")),
        )
    }
}

impl Reconciler {
    /// A reconciler creating resources as `env` says, with `aws`'s clients.
    pub fn new(aws: Aws, env: Environment) -> Self {
        Self {
            aws,
            env,
            key_records: key::KeyRecords::default(),
            memory: memory::Memory::default(),
        }
    }

    /// The operator's configuration.
    pub fn environment(&self) -> &Environment {
        &self.env
    }

    /// What each AWS operation's budget is doing, by region.
    pub fn budgets(&self) -> Vec<(String, crate::aws::budget::BudgetSnapshot)> {
        self.aws.budgets()
    }

    /// The share and overrides the budgets are made from.
    pub fn quotas(&self) -> &crate::aws::request_quota::QuotaSettings {
        self.aws.quotas()
    }

    /// One converge pass, its calls counted in `log`.
    pub async fn converge(&self, queue: &SecureQueue, log: &CallLog) -> Report {
        let name = display_name(queue);
        let (resolved, plan) = match plan::build_resolved(queue, &self.env) {
            Ok(built) => built,
            Err(problems) => {
                return Report::refused(
                    name,
                    reason::INVALID_SPEC,
                    validation::describe(&problems),
                );
            }
        };
        let moves = resolved.moves_from(queue.status.as_ref());
        if !moves.is_empty() {
            return Report::refused(
                name,
                reason::IMMUTABLE_FIELD_CHANGED,
                validation::describe(&moves),
            );
        }
        // Prove the policies before the first write: a failing row blocks the pass.
        let rows = match intent::verify(&intent::Policies::of(&plan), &resolved) {
            Ok(rows) => rows,
            Err(e) => return Report::refused(name, reason::POLICY_VERIFICATION_FAILED, e),
        };
        if let Some(failing) = rows.iter().find(|r| !r.holds) {
            let count = rows.iter().filter(|r| !r.holds).count();
            return Report::refused(
                name,
                reason::POLICY_VERIFICATION_FAILED,
                format!(
                    "{count} of {} policy checks fail, e.g. `{}`: the {:?} policy decides {:?}",
                    rows.len(),
                    failing.check.description,
                    failing.check.target,
                    failing.decision.effect
                ),
            );
        }
        let clients = self.aws.clients(&plan.region);
        let mut report = Report::new(name);
        report.policies_verified = Some(rows.len());
        report.kms_estimated_requests_per_30_days = Some(plan.kms.estimated_requests_per_30_days);
        let slots = memory::slots(&plan);
        let recalls = self.memory.recall(slots.each_ref());
        let pass = self.memory.next_pass();
        // On the heap: the pass's future holds every step's state at once.
        let finished = log
            .scope(Box::pin(converge_plan(
                &clients,
                &self.key_records,
                &plan,
                &resolved,
                &recalls,
                &mut report,
            )))
            .await;
        self.memory
            .after_pass(pass, &plan, slots, &recalls, finished);
        if let Some(note) = kept_region(&resolved, &self.env)
            && let Some(ready) = report.conditions.last_mut()
        {
            ready.message.push_str(&note);
        }
        report.calls = log.counts();
        for correction in &report.corrections {
            tracing::info!(securequeue = %report.name, %correction, "drift corrected");
        }
        for finding in &report.access_findings {
            tracing::warn!(securequeue = %report.name, %finding, "a policy in AWS allowed more than the spec");
        }
        report
    }

    /// One deletion pass, honouring `spec.deletionPolicy`, its calls counted in `log`.
    pub async fn delete(&self, queue: &SecureQueue, log: &CallLog) -> Deletion {
        let name = display_name(queue);
        let labels = [QUEUE_READY, DEAD_LETTER_QUEUE_READY, KEY_READY];
        let built = plan::build_resolved(queue, &self.env);
        // Whatever the policy, the SecureQueue is going: nothing of it stays in memory, and a
        // deletion looks everything up afresh.
        if let Ok((_, plan)) = &built {
            self.memory.forget(&memory::slots(plan).each_ref());
        }
        if queue.spec.deletion_policy == DeletionPolicy::Retain {
            return Deletion {
                name,
                steps: labels
                    .iter()
                    .map(|c| {
                        StepReport::done(
                            c,
                            reason::RETAINED,
                            "deletionPolicy is Retain: left in AWS with its messages".to_string(),
                        )
                    })
                    .collect(),
                calls: CallCounts::default(),
            };
        }
        let refuse = |why, problems: &[validation::Problem]| {
            let first = StepReport::failed(
                QUEUE_READY,
                why,
                format!(
                    "cannot tell which resources to delete: {}",
                    validation::describe(problems)
                ),
            );
            Deletion {
                name: name.clone(),
                steps: blocked_after(first, &labels[1..]),
                calls: CallCounts::default(),
            }
        };
        let (resolved, plan) = match built {
            Ok(built) => built,
            Err(problems) => return refuse(reason::INVALID_SPEC, &problems),
        };
        // Deleting by a moved spec would delete nothing and release the real resources.
        let moves = resolved.moves_from(queue.status.as_ref());
        if !moves.is_empty() {
            return refuse(reason::IMMUTABLE_FIELD_CHANGED, &moves);
        }
        let clients = self.aws.clients(&plan.region);
        let steps = log
            .scope(delete_plan(&clients, &self.key_records, &plan))
            .await;
        Deletion {
            name,
            steps,
            calls: log.counts(),
        }
    }
}

/// A note for the Ready message when the resources stay in their recorded region although the
/// operator's region is now another one.
fn kept_region(resolved: &resolve::Resolved, env: &Environment) -> Option<String> {
    let operator = env.region.as_deref()?;
    (resolved.region_source == resolve::RegionSource::Recorded && operator != resolved.region)
        .then(|| {
            format!(
                " (in {}, where status.identity records them: the operator's region is now {operator}, and a SecureQueue without spec.region stays where it was made; set spec.region: {} to say so in the spec)",
                resolved.region, resolved.region
            )
        })
}

/// `<namespace>/<name>` of a SecureQueue, as reports and logs name it.
pub fn display_name(queue: &SecureQueue) -> String {
    format!(
        "{}/{}",
        queue.metadata.namespace.as_deref().unwrap_or("default"),
        queue.metadata.name.as_deref().unwrap_or_default()
    )
}

async fn converge_plan(
    clients: &Clients,
    key_records: &key::KeyRecords,
    plan: &Plan,
    resolved: &resolve::Resolved,
    recalls: &[memory::Recall; 3],
    report: &mut Report,
) -> Option<[memory::Outcome; 3]> {
    let owner = Owner::from_tags(&plan.key.tags);
    let [key_recall, dead_letter_recall, queue_recall] = recalls;
    let (key_found, dead_letter_found, queue_found) = tokio::join!(
        key::observe(&clients.kms, &plan.key, &owner, key_records, key_recall),
        queue::observe(
            &clients.sqs,
            &plan.dead_letter_queue,
            &owner,
            DEAD_LETTER_QUEUE,
            dead_letter_recall
        ),
        queue::observe(&clients.sqs, &plan.queue, &owner, QUEUE, queue_recall),
    );
    report.identity = found(resolved, &key_found, &dead_letter_found, &queue_found);
    let (key_found, dead_letter_found, queue_found) =
        match (key_found, dead_letter_found, queue_found) {
            (Ok(k), Ok(d), Ok(q)) => (k, d, q),
            (k, d, q) => {
                // Nothing is written while any resource is unreadable or taken.
                report.needs_a_person = [k.as_ref().err(), d.as_ref().err(), q.as_ref().err()]
                    .into_iter()
                    .flatten()
                    .any(StepError::needs_a_person);
                let observed = [
                    (KEY_READY, k.err()),
                    (DEAD_LETTER_QUEUE_READY, d.err()),
                    (QUEUE_READY, q.err()),
                ];
                let first = observed
                    .iter()
                    .find_map(|(c, e)| e.as_ref().map(|e| failed(c, e)))
                    .expect("one observation failed");
                let steps = observed
                    .iter()
                    .map(|(c, e)| match e {
                        Some(e) => failed(c, e),
                        None => StepReport::blocked(c, &first),
                    })
                    .collect();
                report.finish(steps);
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

    let key = match key::ensure(&clients.kms, &plan.key, key_records, key_found).await {
        Ok(key) => key,
        Err(e) => {
            if !e.created_no_key() {
                report
                    .identity
                    .get_or_insert_with(|| located(resolved, None));
            }
            report.needs_a_person = e.needs_a_person();
            report.finish(blocked_after(
                failed(KEY_READY, &e),
                &[DEAD_LETTER_QUEUE_READY, QUEUE_READY],
            ));
            return None;
        }
    };
    report.key_arn = Some(key.info.arn.clone());
    report.identity = Some(located(resolved, Some(&key.info.key_id)));
    let (key_reason, key_message) = done_message(
        "key",
        &format!("{} ({})", key.info.arn, plan.key.alias),
        key.created,
        &key.corrections,
    );
    let key_step = StepReport::done(KEY_READY, key_reason, key_message);
    report
        .corrections
        .extend(key.corrections.iter().map(|c| format!("{KEY_READY}: {c}")));

    let dead_letter =
        match queue::ensure(&clients.sqs, &plan.dead_letter_queue, dead_letter_found).await {
            Ok(done) => done,
            Err(e) => {
                report.needs_a_person = e.needs_a_person();
                let mut steps = blocked_after(failed(DEAD_LETTER_QUEUE_READY, &e), &[QUEUE_READY]);
                steps.insert(0, key_step);
                report.finish(steps);
                return None;
            }
        };
    report.dead_letter_queue_arn = Some(plan.dead_letter_queue.arn.clone());
    report.dead_letter_queue_url = Some(dead_letter.url.clone());
    let (dl_reason, dl_message) = done_message(
        DEAD_LETTER_QUEUE,
        &dead_letter.url,
        dead_letter.created,
        &dead_letter.corrections,
    );
    report.dead_letter_queue_messages = dead_letter.messages;
    let dead_letter_step = match dead_letter.messages {
        Some(waiting) if waiting > 0 && dl_reason == reason::CONVERGED => StepReport::done(
            DEAD_LETTER_QUEUE_READY,
            reason::MESSAGES_IN_DEAD_LETTER_QUEUE,
            format!(
                "{waiting} messages wait in the dead-letter queue {}: consumers are failing to process them",
                dead_letter.url
            ),
        ),
        _ => StepReport::done(DEAD_LETTER_QUEUE_READY, dl_reason, dl_message),
    };
    report.corrections.extend(
        dead_letter
            .corrections
            .iter()
            .map(|c| format!("{DEAD_LETTER_QUEUE_READY}: {c}")),
    );

    let main = match queue::ensure(&clients.sqs, &plan.queue, queue_found).await {
        Ok(done) => done,
        Err(e) => {
            report.needs_a_person = e.needs_a_person();
            report.finish(vec![key_step, dead_letter_step, failed(QUEUE_READY, &e)]);
            return None;
        }
    };
    report.queue_name = Some(plan.queue.name.clone());
    report.queue_arn = Some(plan.queue.arn.clone());
    report.queue_url = Some(main.url.clone());
    let (q_reason, q_message) = done_message(QUEUE, &main.url, main.created, &main.corrections);
    report.corrections.extend(
        main.corrections
            .iter()
            .map(|c| format!("{QUEUE_READY}: {c}")),
    );
    report.finish(vec![
        key_step,
        dead_letter_step,
        StepReport::done(QUEUE_READY, q_reason, q_message),
    ]);
    Some([
        memory::Outcome {
            identity: Some(memory::Identity::Key(key.info.key_id)),
            tags_read: key.tags_read,
        },
        memory::Outcome {
            identity: dead_letter.identity,
            tags_read: dead_letter.tags_read,
        },
        memory::Outcome {
            identity: main.identity,
            tags_read: main.tags_read,
        },
    ])
}

/// The identity of what the lookups found, when they found any resource of this SecureQueue.
fn found(
    resolved: &resolve::Resolved,
    key: &Result<key::KeyFound, StepError>,
    dead_letter_queue: &Result<Option<queue::ExistingQueue>, StepError>,
    queue: &Result<Option<queue::ExistingQueue>, StepError>,
) -> Option<ResourceIdentity> {
    let key_id = match key {
        Ok(key::KeyFound::Present(key)) => Some(key.key_id()),
        _ => None,
    };
    let a_queue = matches!(dead_letter_queue, Ok(Some(_))) || matches!(queue, Ok(Some(_)));
    (key_id.is_some() || a_queue).then(|| located(resolved, key_id))
}

/// The identity of resources known to exist, with the key's id when it is known.
fn located(resolved: &resolve::Resolved, key_id: Option<&str>) -> ResourceIdentity {
    ResourceIdentity {
        key_id: key_id.map(str::to_string),
        ..resolved.identity()
    }
}

const EMPTY_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[]}"#;

/// Checks the policies as read back from AWS (the plan's where nothing was read) against the
/// intent table: drift that opened access is reported even before this pass corrects it.
fn access_findings(
    plan: &Plan,
    resolved: &resolve::Resolved,
    key: Option<&str>,
    dead_letter_queue: Option<&str>,
    queue: Option<&str>,
) -> Vec<String> {
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
            .map(|r| {
                format!(
                    "the {:?} policy in AWS broke `{}` ({:?})",
                    r.check.target, r.check.description, r.decision.effect
                )
            })
            .collect(),
        Err(e) => vec![format!("a policy in AWS could not be evaluated: {e}")],
    }
}

async fn delete_plan(
    clients: &Clients,
    key_records: &key::KeyRecords,
    plan: &Plan,
) -> Vec<StepReport> {
    let owner = Owner::from_tags(&plan.key.tags);
    let main = queue::delete(&clients.sqs, &plan.queue, &owner, QUEUE).await;
    let main = match main {
        Ok(message) => StepReport::done(QUEUE_READY, reason::DELETED, message),
        Err(e) => {
            return blocked_after(
                failed(QUEUE_READY, &e),
                &[DEAD_LETTER_QUEUE_READY, KEY_READY],
            );
        }
    };
    let dead_letter = match queue::delete(
        &clients.sqs,
        &plan.dead_letter_queue,
        &owner,
        DEAD_LETTER_QUEUE,
    )
    .await
    {
        Ok(message) => StepReport::done(DEAD_LETTER_QUEUE_READY, reason::DELETED, message),
        Err(e) => {
            let mut steps = blocked_after(failed(DEAD_LETTER_QUEUE_READY, &e), &[KEY_READY]);
            steps.insert(0, main);
            return steps;
        }
    };
    let key = match key::delete(&clients.kms, &plan.key, &owner, key_records).await {
        Ok(message) => StepReport::done(KEY_READY, reason::DELETED, message),
        Err(e) => failed(KEY_READY, &e),
    };
    vec![main, dead_letter, key]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn converged(name: &str) -> Report {
        let mut report = Report::new(name.to_string());
        report.key_arn = Some("arn:aws:kms:us-east-1:111122223333:key/k".into());
        report.queue_name = Some("q".into());
        report.finish(
            [KEY_READY, DEAD_LETTER_QUEUE_READY, QUEUE_READY]
                .into_iter()
                .map(|c| StepReport::done(c, reason::CONVERGED, "ok".into()))
                .collect(),
        );
        report
    }

    #[test]
    fn a_failed_pass_keeps_what_earlier_passes_learned() {
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let before = converged("ns/q").status(Some(3), None, now);
        assert_eq!(
            before.key_arn.as_deref(),
            Some("arn:aws:kms:us-east-1:111122223333:key/k")
        );
        let refused = Report::refused("ns/q".into(), reason::INVALID_SPEC, "bad".into());
        let after = refused.status(Some(4), Some(&before), now);
        assert_eq!(after.observed_generation, Some(4));
        assert_eq!(after.key_arn, before.key_arn);
        assert_eq!(after.queue_name.as_deref(), Some("q"));
        let ready = after
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "InvalidSpec")
        );
    }

    #[test]
    fn a_refused_spec_names_the_first_step_and_blocks_the_rest() {
        let refused = Report::refused("ns/q".into(), reason::IMMUTABLE_FIELD_CHANGED, "x".into());
        let reasons: Vec<_> = refused.conditions.iter().map(|c| c.reason).collect();
        assert_eq!(
            reasons,
            [
                "ImmutableFieldChanged",
                "Blocked",
                "Blocked",
                "ImmutableFieldChanged"
            ]
        );
        assert!(refused.needs_a_person && !refused.is_ready());
    }
}
