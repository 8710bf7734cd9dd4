//! The reconciler: one pass brings AWS to a SecureQueue's plan, in order, writing only what
//! differs, and reports each step as a condition.
//!
//! A pass is a value, `Pass` in `pass.rs`: the verified plan (`verified.rs`), the clients of
//! the SecureQueue's account, and what it may rely on from earlier passes. It reads all three
//! [`Part`](crate::part::Part)s at once and checks their owners (`ownership.rs`); only when
//! nothing conflicts does it write, part by part: the key (`key.rs`), then the dead-letter queue
//! and the queue (`queue.rs`), in order (`steps.rs`). What it came to (`outcome.rs`) is put in
//! words once, by [`status`]: the [`Report`] callers read, and the status the controller writes
//! from it. A deletion (`deletion.rs`) goes the other way, queue first.
//!
//! Everything that decides access is read back from AWS on every pass, so a pass cut off after
//! any call is finished by the next one; only queue URLs and tags are remembered between passes
//! (`memory.rs`), to spare a steady-state pass four reads.

mod deletion;
mod diff;
mod error;
mod found;
mod key;
pub mod ledger;
mod memory;
mod outcome;
mod ownership;
mod pass;
mod queue;
mod report;
pub mod status;
mod steps;
mod tags;
mod verified;

use std::sync::{Arc, RwLock};

use crate::accounts::{self, Accounts};
use crate::api::conditions::Reason;
use crate::api::{AdoptionRecord, DeletionPolicy, Management, SecureQueue};
use crate::aws::calls::CallLog;
use crate::aws::session::AssumedRole;
use crate::aws::{Aws, Clients};
use crate::resolve::Environment;
use crate::validation::Problem;

pub use diff::Difference;
pub use error::StepError;
use key::Keys;
use ledger::{KeyLedger, LedgerStore};
use outcome::{DeletionOutcome, Mode, Outcome, Refused};
use ownership::Claim;
pub use ownership::{Owner, Ownership};
use pass::{Adapters, Pass};
pub use report::{Adoption, Correction, Deletion, Finding, Repair, Report, StepReport};
use verified::Verified;

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

    /// Where `queue`'s passes work: the configuration it is planned with (the operator's own,
    /// or that of the account `spec.accountId` names and a binding admits), with the role to
    /// assume there.
    pub fn tenant(&self, queue: &SecureQueue) -> Result<Tenancy, Problem> {
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
        Ok(Tenancy {
            env: tenant.env,
            session,
        })
    }

    /// The clients of `tenancy`'s account in `region`: the operator's own, or those of the
    /// session of the role assumed there.
    async fn clients(&self, tenancy: &Tenancy, region: &str) -> Clients {
        match &tenancy.session {
            None => self.aws.clients(region),
            Some(role) => {
                self.aws
                    .clients_as(role, &tenancy.env.account_id, region)
                    .await
            }
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
        let mode = match queue.spec.management {
            Management::Observe => Mode::Observe,
            Management::Manage | Management::Adopt => Mode::Converge,
        };
        self.pass(queue, log, mode, ledger).await
    }

    /// The pass a converge would make, every write held back and reported in order
    /// (`held_writes`), with the access each policy change gives and takes: for `securequeue
    /// diff` and for the adoption record an adoption writes before it takes anything over.
    pub async fn preview(&self, queue: &SecureQueue, log: &CallLog) -> Report {
        self.pass(queue, log, Mode::Preview, KeyLedger::Memory)
            .await
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

    /// One pass of `queue` in `mode`, its calls counted in `log`, and its report.
    async fn pass(
        &self,
        queue: &SecureQueue,
        log: &CallLog,
        mode: Mode,
        ledger: KeyLedger<'_>,
    ) -> Report {
        let end = match self.prepare(queue, log, mode, ledger).await {
            Ok(pass) => Ok(pass.run().await),
            Err(refused) => Err(refused),
        };
        let name = display_name(queue);
        let report = status::converge::report(Outcome { name, mode, end });
        if mode == Mode::Converge {
            log_drift(&report);
        }
        report
    }

    /// The pass `queue` is due in `mode`, with what it needs; or why it is refused before any
    /// AWS call.
    async fn prepare<'a>(
        &'a self,
        queue: &'a SecureQueue,
        log: &'a CallLog,
        mode: Mode,
        ledger: KeyLedger<'a>,
    ) -> Result<Pass<'a>, Refused> {
        let tenancy = self
            .tenant(queue)
            .map_err(|problem| Refused::of(&[problem]))?;
        let verified = Verified::of(queue, &tenancy.env)?;
        let clients = self.clients(&tenancy, &verified.plan.region).await;
        let memory = self.memory.turn(&verified.plan, mode.dry_run());
        Ok(Pass {
            verified,
            adapters: Adapters::new(clients, mode),
            keys: Keys {
                records: &self.key_records,
                ledger,
            },
            claim: claim(queue, &tenancy.env, mode),
            memory,
            log,
        })
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
        let tenancy = self.tenant(queue);
        let session = tenancy.as_ref().ok().and_then(|t| t.session.clone());
        let outcome = self.deletion(queue, tenancy, log, ledger).await;
        let deletion = status::deletion::report(display_name(queue), outcome);
        if deletion.finished()
            && let Some(session) = session
        {
            self.aws.forget(&session);
        }
        deletion
    }

    /// What a deletion pass of `queue` comes to.
    async fn deletion(
        &self,
        queue: &SecureQueue,
        tenancy: Result<Tenancy, Problem>,
        log: &CallLog,
        ledger: KeyLedger<'_>,
    ) -> DeletionOutcome {
        if queue.spec.management == Management::Observe {
            return DeletionOutcome::Observed;
        }
        // Without its account's binding the operator may not work where the resources are:
        // nothing is deleted, and the finalizer stays until the binding is back.
        let tenancy = match tenancy {
            Ok(tenancy) => tenancy,
            Err(_) if queue.spec.deletion_policy == DeletionPolicy::Retain => {
                return DeletionOutcome::Retained;
            }
            Err(problem) => return DeletionOutcome::Unbound(Refused::of(&[problem])),
        };
        let plan = match deletion::plan(queue, &tenancy.env, &self.memory) {
            Ok(plan) => plan,
            Err(outcome) => return outcome,
        };
        let clients = self.clients(&tenancy, &plan.region).await;
        let keys = Keys {
            records: &self.key_records,
            ledger,
        };
        let steps = log.scope(deletion::delete(&clients, &keys, &plan)).await;
        DeletionOutcome::Ran {
            steps,
            calls: log.counts(),
        }
    }
}

/// Where a SecureQueue's passes work: the configuration it is planned with, and the role
/// assumed in its account (`None` in the operator's own).
#[derive(Clone, Debug)]
pub struct Tenancy {
    pub env: Environment,
    pub session: Option<AssumedRole>,
}

/// Which existing resources a pass of `queue` in `mode` may use: by `spec.management`, the ARNs
/// its status records as adopted, and whether its namespace is trusted across tenants.
fn claim<'a>(queue: &'a SecureQueue, env: &Environment, mode: Mode) -> Claim<'a> {
    let recorded = queue
        .status
        .as_ref()
        .and_then(|s| s.adoption.as_ref())
        .map_or(&[][..], |a| a.resources.as_slice());
    let namespace = queue.metadata.namespace.as_deref().unwrap_or("default");
    let across_tenants = env.guardrails.trusts_across_tenants(namespace);
    Claim::of(
        queue.spec.management,
        recorded,
        mode.dry_run(),
        across_tenants,
    )
}

/// Logs what a pass that wrote corrected, and the access drift it found.
fn log_drift(report: &Report) {
    for correction in &report.corrections {
        tracing::info!(securequeue = %report.name, %correction, "drift corrected");
    }
    for finding in &report.access_findings {
        tracing::warn!(securequeue = %report.name, %finding, "a policy in AWS allowed more than the spec");
    }
}

/// `<namespace>/<name>` of a SecureQueue, as reports and logs name it.
pub fn display_name(queue: &SecureQueue) -> String {
    format!(
        "{}/{}",
        queue.metadata.namespace.as_deref().unwrap_or("default"),
        queue.metadata.name.as_deref().unwrap_or_default()
    )
}
