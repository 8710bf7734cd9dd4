//! The reconciler: one pass brings AWS to a SecureQueue's plan, in order, writing only what
//! differs, and reports each step as a condition.
//!
//! A pass first observes all three resources (key, dead-letter queue, queue) in parallel and
//! checks their ownership tags; only when nothing conflicts does it write, in order: key, then
//! dead-letter queue, then queue. Everything that decides access is read back from AWS on every
//! pass, so a pass cut off after any call is finished by the next one; only queue URLs and tags
//! are remembered between passes (`memory.rs`), to spare a steady-state pass four reads.

mod diff;
mod error;
mod key;
pub mod ledger;
mod memory;
mod observed;
mod ownership;
mod pass;
mod queue;
mod report;
pub mod status;
mod tags;

use std::sync::{Arc, RwLock};

use crate::accounts::{self, Accounts};
use crate::api::conditions::Reason;
use crate::api::{AdoptionRecord, DeletionPolicy, Management, SecureQueue};
use crate::aws::calls::{CallCounts, CallLog};
use crate::aws::held::HeldWrites;
use crate::aws::session::AssumedRole;
use crate::aws::{Aws, Clients};
use crate::evaluate::intent;
use crate::plan::{self, Plan};
use crate::resolve::{self, Environment};
use crate::validation::{self, Problem};

pub use diff::Difference;
pub use error::StepError;
use ledger::{KeyLedger, LedgerStore};
use ownership::Claim;
pub use ownership::{Owner, Ownership};
pub use report::{Adoption, Correction, Deletion, Finding, Repair, Report};
pub use status::StepReport;

/// Converges and deletes SecureQueues with the operator's AWS clients and configuration.
#[derive(Clone, Debug)]
pub struct Reconciler {
    aws: Aws,
    env: Environment,
    accounts: Arc<RwLock<Arc<Accounts>>>,
    key_records: key::KeyRecords,
    memory: memory::Memory,
}

impl Reconciler {
    /// A reconciler creating resources as `env` says, with `aws`'s clients.
    pub fn new(aws: Aws, env: Environment) -> Self {
        Self {
            aws,
            env,
            accounts: Arc::default(),
            key_records: key::KeyRecords::default(),
            memory: memory::Memory::default(),
        }
    }

    /// The same reconciler, working in the accounts `accounts` binds besides its own.
    pub fn with_accounts(self, accounts: Accounts) -> Self {
        self.set_accounts(accounts);
        self
    }

    /// Replaces the account bindings, for every pass that starts from now on (the controller
    /// calls it when a SecureQueueAccount or a namespace's labels change).
    pub fn set_accounts(&self, accounts: Accounts) {
        *self.accounts.write().expect("account bindings") = Arc::new(accounts);
    }

    /// The account bindings passes use now.
    pub fn accounts(&self) -> Arc<Accounts> {
        self.accounts.read().expect("account bindings").clone()
    }

    /// The operator's configuration in its own account.
    pub fn environment(&self) -> &Environment {
        &self.env
    }

    /// The configuration `queue` is planned with: the operator's own, or that of the account
    /// `spec.accountId` names and a binding admits; with the role to assume there.
    pub fn tenant(
        &self,
        queue: &SecureQueue,
    ) -> Result<(Environment, Option<AssumedRole>), Problem> {
        let accounts = self.accounts();
        let tenant = accounts.tenant(queue, &self.env)?;
        let session = tenant.binding.map(|binding| AssumedRole {
            role_arn: binding.role_arn.clone(),
            session_name: accounts::session_name(
                &self.env.cluster_id,
                queue.metadata.namespace.as_deref().unwrap_or("default"),
                queue.metadata.name.as_deref().unwrap_or_default(),
            ),
            external_id: binding.external_id.clone(),
        });
        Ok((tenant.env, session))
    }

    /// The clients of `env`'s account in `region`: the operator's own, or those of the session
    /// of the role assumed there.
    async fn clients(
        &self,
        env: &Environment,
        session: Option<&AssumedRole>,
        region: &str,
    ) -> Clients {
        match session {
            None => self.aws.clients(region),
            Some(role) => self.aws.clients_as(role, &env.account_id, region).await,
        }
    }

    /// What each AWS operation's budget is doing, by account and region.
    pub fn budgets(&self) -> Vec<(String, String, crate::aws::budget::BudgetSnapshot)> {
        self.aws
            .budgets()
            .into_iter()
            .map(|(account, region, snapshot)| {
                (
                    account.unwrap_or_else(|| self.env.account_id.clone()),
                    region,
                    snapshot,
                )
            })
            .collect()
    }

    /// The share and overrides the budgets are made from.
    pub fn quotas(&self) -> &crate::aws::request_quota::QuotaSettings {
        self.aws.quotas()
    }

    /// One converge pass, its calls counted in `log`; for an observed SecureQueue
    /// (`spec.management: Observe`), a pass that writes nothing and reports what differs. With
    /// no durable record of its CreateKey calls (`apply`), a pass that finds no alias searches
    /// the region for an unaliased key of its own ([`ledger`]).
    pub async fn converge(&self, queue: &SecureQueue, log: &CallLog) -> Report {
        self.converge_with(queue, log, KeyLedger::Memory).await
    }

    /// [`Reconciler::converge`] for a SecureQueue whose status keeps the key ledger, written
    /// to `store` (the controller's): a fresh converge reads nothing account-wide.
    pub async fn converge_recorded(
        &self,
        queue: &SecureQueue,
        log: &CallLog,
        store: &dyn LedgerStore,
    ) -> Report {
        let observed = queue.spec.management == Management::Observe;
        let store = (!observed).then_some(store);
        self.converge_with(queue, log, KeyLedger::of(queue, store))
            .await
    }

    async fn converge_with(
        &self,
        queue: &SecureQueue,
        log: &CallLog,
        ledger: KeyLedger<'_>,
    ) -> Report {
        if queue.spec.management == Management::Observe {
            let mut report = self.pass(queue, log, Writes::Held, ledger).await;
            observed::conclude(&mut report);
            return report;
        }
        self.pass(queue, log, Writes::Sent, ledger).await
    }

    /// The pass a converge would make, every write held back and reported in order
    /// (`held_writes`), with the access each policy change gives and takes: for `securequeue
    /// diff` and for the adoption record an adoption writes before it takes anything over.
    pub async fn preview(&self, queue: &SecureQueue, log: &CallLog) -> Report {
        self.pass(queue, log, Writes::Held, KeyLedger::Memory).await
    }

    /// When `report`'s pass waited for an adoption record (`AdoptionPending`): the record a dry
    /// run makes of what the adoption takes over and who loses access, for the caller to write
    /// (the status, an Event, a warning) before converging again. `None` otherwise.
    pub async fn adoption_for(
        &self,
        queue: &SecureQueue,
        report: &Report,
    ) -> Option<AdoptionRecord> {
        if report.ready().map(|r| r.reason) != Some(Reason::AdoptionPending) {
            return None;
        }
        let preview = self.preview(queue, &CallLog::default()).await;
        status::adoption_record(&preview, jiff::Timestamp::now())
    }

    async fn pass(
        &self,
        queue: &SecureQueue,
        log: &CallLog,
        writes: Writes,
        ledger: KeyLedger<'_>,
    ) -> Report {
        let name = display_name(queue);
        let (env, session) = match self.tenant(queue) {
            Ok(tenant) => tenant,
            Err(problem) => {
                return Report::refused(name, problem.refusal, validation::describe(&[problem]));
            }
        };
        let (resolved, plan, rows) = match verified(queue, &env) {
            Ok(verified) => verified,
            Err((why, message)) => return Report::refused(name, why, message),
        };
        let held = HeldWrites::default();
        let dry_run = writes == Writes::Held;
        let clients = self.clients(&env, session.as_ref(), &plan.region).await;
        let clients = match writes {
            Writes::Sent => clients,
            Writes::Held => clients.holding_writes(&held),
        };
        let mut report = Report::new(name);
        report.policies_verified = Some(rows);
        report.learned.kms_estimated_requests_per_30_days =
            Some(plan.kms.estimated_requests_per_30_days);
        let slots = memory::slots(&plan);
        // A dry run reads everything afresh and teaches the memory nothing: what it "made"
        // does not exist.
        let recalls = if dry_run {
            Default::default()
        } else {
            self.memory.recall(slots.each_ref())
        };
        let recorded = recorded_adoption(queue);
        let across_tenants = env
            .guardrails
            .trusts_across_tenants(queue.metadata.namespace.as_deref().unwrap_or("default"));
        let claim = Claim::of(queue.spec.management, &recorded, dry_run, across_tenants);
        let pass = self.memory.next_pass();
        // On the heap: the pass's future holds every step's state at once.
        let finished = log
            .scope(Box::pin(pass::converge(
                &clients,
                &key::Keys {
                    records: &self.key_records,
                    ledger,
                },
                &plan,
                &resolved,
                &recalls,
                &claim,
                &mut report,
            )))
            .await;
        if dry_run {
            report.held_writes = Some(held.writes());
            status::forget_made(&mut report);
        } else {
            self.memory
                .after_pass(pass, &plan, slots, &recalls, finished);
        }
        if let Some(note) = kept_region(&resolved, &self.env)
            && let Some(ready) = report.conditions.last_mut()
        {
            ready.message.push_str(&note);
        }
        report.calls = log.counts();
        if dry_run {
            return report;
        }
        for correction in &report.corrections {
            tracing::info!(securequeue = %report.name, %correction, "drift corrected");
        }
        for finding in &report.access_findings {
            tracing::warn!(securequeue = %report.name, %finding, "a policy in AWS allowed more than the spec");
        }
        report
    }

    /// One deletion pass, honouring `spec.deletionPolicy`, its calls counted in `log`. An
    /// observed SecureQueue's resources are never touched. Once it is finished, the SecureQueue's
    /// session in a bound account, if any, is forgotten.
    pub async fn delete(&self, queue: &SecureQueue, log: &CallLog) -> Deletion {
        self.delete_with(queue, log, KeyLedger::Memory).await
    }

    /// [`Reconciler::delete`] for a SecureQueue whose status keeps the key ledger: the region
    /// is searched for unaliased keys of its own only where a record says one may exist; the
    /// key the status knows is deleted too, should its alias be gone.
    pub async fn delete_recorded(&self, queue: &SecureQueue, log: &CallLog) -> Deletion {
        self.delete_with(queue, log, KeyLedger::of(queue, None))
            .await
    }

    async fn delete_with(
        &self,
        queue: &SecureQueue,
        log: &CallLog,
        ledger: KeyLedger<'_>,
    ) -> Deletion {
        let tenant = self.tenant(queue);
        let session = tenant
            .as_ref()
            .ok()
            .and_then(|(_, session)| session.clone());
        let deletion = self.deletion(queue, tenant, log, ledger).await;
        if deletion.finished()
            && let Some(session) = session
        {
            self.aws.forget(&session);
        }
        deletion
    }

    async fn deletion(
        &self,
        queue: &SecureQueue,
        tenant: Result<(Environment, Option<AssumedRole>), Problem>,
        log: &CallLog,
        ledger: KeyLedger<'_>,
    ) -> Deletion {
        let name = display_name(queue);
        if queue.spec.management == Management::Observe {
            return Deletion {
                name,
                steps: pass::observed_only(),
                calls: CallCounts::default(),
            };
        }
        // Without its account's binding the operator may not work where the resources are:
        // nothing is deleted, and the finalizer stays until the binding is back.
        let (env, session) = match tenant {
            Ok(tenant) => tenant,
            Err(_) if queue.spec.deletion_policy == DeletionPolicy::Retain => {
                return Deletion {
                    name,
                    steps: pass::retained(),
                    calls: CallCounts::default(),
                };
            }
            Err(problem) => {
                let message = format!(
                    "nothing was deleted: {}; restore the binding to delete the resources, or set deletionPolicy: Retain to leave them in AWS",
                    validation::describe(std::slice::from_ref(&problem))
                );
                return Deletion {
                    name,
                    steps: pass::undeletable(problem.refusal, message),
                    calls: CallCounts::default(),
                };
            }
        };
        // A SecureQueue a guardrail refuses was planned without the guardrails, if ever: any
        // resources of it are where that plan puts them.
        let built = plan::build_resolved(queue, &env).or_else(|problems| {
            if problems.iter().any(|p| p.refusal.is_guardrail()) {
                plan::build_resolved(queue, &env.without_guardrails())
            } else {
                Err(problems)
            }
        });
        // Whatever the policy, the SecureQueue is going: nothing of it stays in memory, and a
        // deletion looks everything up afresh.
        if let Ok((_, plan)) = &built {
            self.memory.forget(&memory::slots(plan).each_ref());
        }
        let deletion = |steps| Deletion {
            name: name.clone(),
            steps,
            calls: CallCounts::default(),
        };
        if queue.spec.deletion_policy == DeletionPolicy::Retain {
            return deletion(pass::retained());
        }
        let refuse = |problems: &[Problem]| {
            deletion(pass::undeletable(
                problems[0].refusal,
                format!(
                    "cannot tell which resources to delete: {}",
                    validation::describe(problems)
                ),
            ))
        };
        let plan = match built.and_then(|built| plan::hold(queue, built)) {
            Ok((_, plan)) => plan,
            Err(problems) => return refuse(&problems),
        };
        let clients = self.clients(&env, session.as_ref(), &plan.region).await;
        let steps = log
            .scope(pass::delete(
                &clients,
                &key::Keys {
                    records: &self.key_records,
                    ledger,
                },
                &plan,
            ))
            .await;
        Deletion {
            name,
            steps,
            calls: log.counts(),
        }
    }
}

/// The plan of a SecureQueue that may be converged, with the number of intent-table rows
/// its policies passed; or why it is refused before any AWS call: a guardrail, an invalid
/// spec, a move of its resources, or a policy failing the intent table.
fn verified(
    queue: &SecureQueue,
    env: &Environment,
) -> Result<(resolve::Resolved, Plan, usize), (Reason, String)> {
    let refused = |problems: &[Problem]| (problems[0].refusal, validation::describe(problems));
    let (resolved, plan) = plan::build_held(queue, env).map_err(|p| refused(&p))?;
    // Prove the policies before the first write: a failing row blocks the pass.
    let failing = |message| (Reason::PolicyVerificationFailed, message);
    let rows = intent::verify(&intent::Policies::of(&plan), &resolved)
        .map_err(|e| failing(e.to_string()))?;
    if let Some(row) = rows.iter().find(|r| !r.holds) {
        let count = rows.iter().filter(|r| !r.holds).count();
        return Err(failing(format!(
            "{count} of {} policy checks fail, e.g. `{}`: the {:?} policy decides {:?}",
            rows.len(),
            row.check.description,
            row.check.target,
            row.decision.effect
        )));
    }
    Ok((resolved, plan, rows.len()))
}

/// Whether a pass sends its writes or holds them back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writes {
    Sent,
    Held,
}

/// The ARNs a SecureQueue's status records as adopted.
fn recorded_adoption(queue: &SecureQueue) -> Vec<String> {
    queue
        .status
        .as_ref()
        .and_then(|s| s.adoption.as_ref())
        .map(|a| a.resources.clone())
        .unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::{DEAD_LETTER_QUEUE_READY, KEY_READY, QUEUE_READY};

    fn converged(name: &str) -> Report {
        let mut report = Report::new(name.to_string());
        report.learned.key_arn = Some("arn:aws:kms:us-east-1:111122223333:key/k".into());
        report.learned.queue_name = Some("q".into());
        report.finish(
            [KEY_READY, DEAD_LETTER_QUEUE_READY, QUEUE_READY]
                .into_iter()
                .map(|c| StepReport::done(c, Reason::Converged, "ok".into()))
                .collect(),
        );
        report
    }

    #[test]
    fn a_failed_pass_keeps_what_earlier_passes_learned() {
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let before = status::of_pass(&converged("ns/q"), Some(3), None, now);
        assert_eq!(
            before.key_arn.as_deref(),
            Some("arn:aws:kms:us-east-1:111122223333:key/k")
        );
        let refused = Report::refused("ns/q".into(), Reason::InvalidSpec, "bad".into());
        let after = status::of_pass(&refused, Some(4), Some(&before), now);
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
        let refused = Report::refused("ns/q".into(), Reason::ImmutableFieldChanged, "x".into());
        let reasons: Vec<_> = refused.conditions.iter().map(|c| c.reason).collect();
        assert_eq!(
            reasons,
            [
                Reason::ImmutableFieldChanged,
                Reason::Blocked,
                Reason::Blocked,
                Reason::ImmutableFieldChanged
            ]
        );
        assert!(refused.needs_a_person() && !refused.is_ready());
        assert_eq!(
            refused.revisit(),
            crate::api::conditions::Revisit::WhenTheSpecChanges
        );
    }
}
