//! One reconcile of one SecureQueue: the finalizer, guardrails, the AWS pass, the status (written
//! only when it changed), Events and metrics, and when to come back.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, PartialObjectMeta};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::runtime::finalizer::{self, Event as Finalize};
use kube::{Resource, ResourceExt};
use serde_json::json;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::api::conditions::{READY, Reason, Revisit};
use crate::api::{Management, SecureQueue, SecureQueueStatus};
use crate::aws::calls::CallLog;
use crate::aws::queued::QueueWatch;
use crate::fence::{Fenced, WriteFence};
use crate::reconcile::{Report, display_name, status};

use super::Context;
use super::ledger::StatusLedger;
use super::metrics::ReconcileResult;
use super::status_apply::apply_status;

/// The finalizer that keeps a SecureQueue until its AWS resources are handled.
pub const FINALIZER: &str = "securequeue.io/cleanup";

/// The annotation whose change triggers an immediate reconcile.
pub const RECONCILE_REQUESTED_AT: &str = "securequeue.io/reconcile-requested-at";

/// What can fail outside the AWS pass, which reports its own failures in status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The finalizer helper failed.
    #[error("{0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
    /// Deleting the AWS resources did not finish; the finalizer stays.
    #[error("deletion not finished: {0}")]
    DeletionPending(String),
    /// This replica lost its leadership: the reconcile stopped, or a write was not sent.
    #[error(transparent)]
    Fenced(#[from] Fenced),
}

impl Error {
    /// The reconcile result it counts as: a deletion that did not finish, even through the
    /// finalizer helper that wraps it; any other failure is the Kubernetes API's.
    pub fn result(&self) -> ReconcileResult {
        match self {
            Error::DeletionPending(_) => ReconcileResult::DeletionPending,
            Error::Finalizer(wrapped) => match wrapped.as_ref() {
                finalizer::Error::ApplyFailed(inner) | finalizer::Error::CleanupFailed(inner) => {
                    inner.result()
                }
                _ => ReconcileResult::Error,
            },
            Error::Kube(_) | Error::Fenced(_) => ReconcileResult::Error,
        }
    }
}

/// Reconciles one SecureQueue.
pub async fn reconcile(queue: Arc<SecureQueue>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.timer();
    let namespace = queue.namespace().unwrap_or_else(|| "default".to_string());
    let api: Api<SecureQueue> = Api::namespaced(ctx.client.clone(), &namespace);
    let span = info_span!(
        "reconcile",
        namespace = %namespace,
        name = %queue.name_any(),
        generation = queue.meta().generation.unwrap_or_default()
    );
    span.in_scope(|| debug!("reconcile started"));
    let reconciled = finalizer::finalizer(&api, FINALIZER, queue, |event| async {
        match event {
            Finalize::Apply(queue) => apply(&queue, &api, &ctx).await,
            Finalize::Cleanup(queue) => cleanup(&queue, &api, &ctx).await,
        }
    })
    .instrument(span);
    // Cancelled at its next await point once this replica may no longer write: a pass that
    // outlived its leadership sends nothing more (see `crate::fence`).
    tokio::select! {
        reconciled = reconciled => reconciled.map_err(|e| Error::Finalizer(Box::new(e))),
        _ = ctx.fence.shut() => {
            ctx.metrics.pass_cancelled();
            Err(Error::Fenced(Fenced))
        }
    }
}

/// Reconciles the SecureQueue a watched metadata-only object names, read afresh from the API
/// server: the watch keeps only metadata, so the operator's memory does not grow with every
/// spec and status it watches. A SecureQueue already gone needs nothing.
pub async fn reconcile_latest(
    watched: Arc<PartialObjectMeta<SecureQueue>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let namespace = watched.namespace().unwrap_or_else(|| "default".to_string());
    let api: Api<SecureQueue> = Api::namespaced(ctx.client.clone(), &namespace);
    match api.get_opt(&watched.name_any()).await? {
        Some(queue) => reconcile(Arc::new(queue), ctx).await,
        None => Ok(Action::await_change()),
    }
}

/// Requeues after a failure outside the AWS pass, with backoff.
pub fn error_policy<K: Resource>(queue: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    warn!(securequeue = %queue.name_any(), namespace = ?queue.namespace(), %error, "reconcile failed");
    ctx.metrics.reconciled(error.result());
    Action::requeue(ctx.backoff(queue.as_ref()))
}

async fn apply(
    queue: &SecureQueue,
    api: &Api<SecureQueue>,
    ctx: &Context,
) -> Result<Action, Error> {
    let log = CallLog::default();
    let mut told_waiting = false;
    let ledger = StatusLedger::new(api.clone(), queue.name_any(), ctx.fence.clone());
    let pass = ctx.reconciler.converge_recorded(queue, &log, &ledger);
    let mut report =
        converge_telling_waits(&ctx.fence, queue, api, pass, &mut told_waiting).await?;
    let adopted;
    let queue = match record_adoption(queue, &report, api, ctx).await? {
        Some(recorded) => {
            adopted = recorded;
            let pass = ctx.reconciler.converge_recorded(&adopted, &log, &ledger);
            report =
                converge_telling_waits(&ctx.fence, &adopted, api, pass, &mut told_waiting).await?;
            &adopted
        }
        None => queue,
    };
    ctx.metrics
        .aws_calls(&report.calls, &log.failures(), &log.not_found());
    ctx.metrics.budgets(&ctx.reconciler.budgets());
    ctx.metrics.drift_corrected(report.corrections.len());

    let previous = queue.status.as_ref();
    let now = jiff::Timestamp::now();
    let status = status::of_pass(&report, queue.meta().generation, previous, now);
    // A status written while the pass waited is replaced, even by the one it replaced.
    let changed = told_waiting || Some(&status) != previous;
    if changed {
        patch_status(&ctx.fence, api, queue, &status).await?;
    }
    publish_events(queue, &report, previous, changed, ctx).await;
    if let Some(outcome) = report.ready() {
        info!(
            ready = outcome.status.as_str(),
            reason = outcome.reason.as_str(),
            status_written = changed,
            aws_calls = report.calls.total(),
            "reconciled"
        );
    }

    let uid = queue.uid().unwrap_or_default();
    ctx.metrics
        .ready_state(&uid, report.ready().map(|r| r.status.as_str()));
    ctx.metrics.dead_letter_messages(
        &queue.namespace().unwrap_or_default(),
        &queue.name_any(),
        report.learned.dead_letter_queue_messages,
    );
    ctx.metrics.reconciled(if report.is_ready() {
        ReconcileResult::Ready
    } else if report.needs_a_person() {
        ReconcileResult::Stalled
    } else {
        ReconcileResult::NotReady
    });
    Ok(match report.revisit() {
        Revisit::AtResync => {
            ctx.succeeded(queue);
            Action::requeue(ctx.resync_delay(queue))
        }
        Revisit::WhenTheSpecChanges => {
            ctx.succeeded(queue);
            Action::await_change()
        }
        Revisit::WithBackoff => Action::requeue(ctx.backoff(queue)),
    })
}

/// When a pass waits for an adoption record (`AdoptionPending`): finds with a dry run what the
/// adoption takes over and who loses access, writes that to `status.adoption` and a Warning
/// Event, and returns the SecureQueue with its new status for the pass that adopts. `None` when
/// no record is needed, or the dry run found nothing to adopt.
async fn record_adoption(
    queue: &SecureQueue,
    report: &Report,
    api: &Api<SecureQueue>,
    ctx: &Context,
) -> Result<Option<SecureQueue>, Error> {
    let Some(record) = ctx.reconciler.adoption_for(queue, report).await else {
        return Ok(None);
    };
    let note = status::adoption_note(&record);
    let recorded = status::with_adoption(queue.status.as_ref(), record);
    patch_status(&ctx.fence, api, queue, &recorded).await?;
    publish(
        ctx,
        queue,
        EventType::Warning,
        Reason::AdoptionPending,
        "Adopt",
        &note,
    )
    .await;
    let mut adopted = queue.clone();
    adopted.status = Some(recorded);
    Ok(Some(adopted))
}

/// A pass's expected wait for its turn at a budget from which its status says so.
const TELL_WAITS_FROM: Duration = Duration::from_secs(2);

/// Runs `pass`; if it waits long for its turn at an operation's budget, says so in the status
/// (`WaitingForRequestQuota`) once, unless the SecureQueue is already Ready for this
/// generation, and sets `told`.
async fn converge_telling_waits(
    fence: &WriteFence,
    queue: &SecureQueue,
    api: &Api<SecureQueue>,
    pass: impl Future<Output = Report>,
    told: &mut bool,
) -> Result<Report, Error> {
    let (watch, mut waits) = QueueWatch::new();
    // Boxed: the AWS pass is a large future, too large for a worker's stack in debug builds.
    let mut pass = Box::pin(watch.scope(pass));
    let generation = queue.meta().generation;
    let ready_already = queue.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == READY && c.status == "True" && c.observed_generation == generation)
    });
    let mut watching = !ready_already;
    loop {
        tokio::select! {
            report = &mut pass => return Ok(report),
            changed = waits.changed(), if watching && !*told => {
                let queued = waits.borrow_and_update().clone();
                match (changed, queued) {
                    (Err(_), _) => watching = false,
                    (Ok(()), Some(queued)) if queued.expected_wait() >= TELL_WAITS_FROM => {
                        let now = jiff::Timestamp::now();
                        let status =
                            status::waiting_for_quota(queue.status.as_ref(), &queued, generation, now);
                        patch_status(fence, api, queue, &status).await?;
                        *told = true;
                    }
                    (Ok(()), _) => {}
                }
            }
        }
    }
}

async fn cleanup(
    queue: &SecureQueue,
    api: &Api<SecureQueue>,
    ctx: &Context,
) -> Result<Action, Error> {
    let log = CallLog::default();
    let deletion = Box::pin(ctx.reconciler.delete_recorded(queue, &log)).await;
    ctx.metrics
        .aws_calls(&deletion.calls, &log.failures(), &log.not_found());
    let Some(failure) = deletion.failure() else {
        for (part, step) in deletion.parts() {
            let action = part.deleted_action();
            publish(
                ctx,
                queue,
                EventType::Normal,
                step.reason,
                action,
                &step.message,
            )
            .await;
        }
        ctx.metrics.reconciled(ReconcileResult::Deleted);
        ctx.metrics
            .ready_state(&queue.uid().unwrap_or_default(), None);
        ctx.metrics.dead_letter_messages(
            &queue.namespace().unwrap_or_default(),
            &queue.name_any(),
            None,
        );
        ctx.forget(queue);
        info!(securequeue = %display_name(queue), "cleaned up");
        return Ok(Action::await_change());
    };
    let now = jiff::Timestamp::now();
    let previous = queue.status.as_ref();
    let status = status::deleting(previous, failure, queue.meta().generation, now);
    let message = status
        .conditions
        .iter()
        .find(|c| c.type_ == READY)
        .map(|c| c.message.clone())
        .unwrap_or_default();
    if Some(&status) != previous {
        patch_status(&ctx.fence, api, queue, &status).await?;
        publish(
            ctx,
            queue,
            EventType::Warning,
            failure.reason,
            "Delete",
            &message,
        )
        .await;
    }
    Err(Error::DeletionPending(message))
}

/// The field manager of everything the operator writes, as `kubectl get -o yaml
/// --show-managed-fields` shows it.
pub const FIELD_MANAGER: &str = "securequeue";

/// Writes the whole status by server-side apply, forced: the operator owns every status field,
/// so one it no longer sets (a condition that stopped holding) is removed, not left behind.
/// All but `keyCreation`, which the key ledger writes under its own manager
/// ([`super::ledger`]). Only while this replica leads (`fence`).
async fn patch_status(
    fence: &WriteFence,
    api: &Api<SecureQueue>,
    queue: &SecureQueue,
    status: &SecureQueueStatus,
) -> Result<(), Error> {
    let status = SecureQueueStatus {
        key_creation: None,
        ..status.clone()
    };
    apply_status(fence, api, &queue.name_any(), FIELD_MANAGER, json!(status)).await
}

/// Events for what changed: created and adopted parts, corrected drift, access drift found,
/// messages newly waiting in the dead-letter queue, and failures when the status changed.
async fn publish_events(
    queue: &SecureQueue,
    report: &Report,
    previous: Option<&SecureQueueStatus>,
    changed: bool,
    ctx: &Context,
) {
    publish_made(queue, report, ctx).await;
    publish_drift(queue, report, ctx).await;
    publish_dead_letters(queue, report, previous, ctx).await;
    if changed {
        publish_failure(queue, report, ctx).await;
    }
}

/// An Event for each part the pass created or adopted.
async fn publish_made(queue: &SecureQueue, report: &Report, ctx: &Context) {
    for (part, step) in report.parts() {
        let action = match step.reason {
            Reason::Created => part.created_action(),
            Reason::Adopted => part.adopted_action(),
            _ => continue,
        };
        publish(
            ctx,
            queue,
            EventType::Normal,
            step.reason,
            action,
            &step.message,
        )
        .await;
    }
}

/// An Event for each drift the pass corrected and, unless the SecureQueue only observes, each
/// row of the intent table a policy in AWS broke.
async fn publish_drift(queue: &SecureQueue, report: &Report, ctx: &Context) {
    for correction in &report.corrections {
        let note = correction.to_string();
        let (reason, action) = (Reason::DriftCorrected, correction.repair.action);
        publish(ctx, queue, EventType::Normal, reason, action, &note).await;
    }
    // What an observing pass finds stays as it is: its Ready condition says so, once.
    let observed = queue.spec.management == Management::Observe;
    for finding in report.access_findings.iter().filter(|_| !observed) {
        let (reason, action) = (Reason::AccessDriftFound, finding.action());
        publish(
            ctx,
            queue,
            EventType::Warning,
            reason,
            action,
            &finding.note,
        )
        .await;
    }
}

/// A Warning when messages arrived in a dead-letter queue that had none before.
async fn publish_dead_letters(
    queue: &SecureQueue,
    report: &Report,
    previous: Option<&SecureQueueStatus>,
    ctx: &Context,
) {
    let waiting_before = previous
        .and_then(|p| p.dead_letter_queue_messages)
        .unwrap_or(0);
    let Some(waiting) = report
        .learned
        .dead_letter_queue_messages
        .filter(|n| *n > 0 && waiting_before == 0)
    else {
        return;
    };
    let note = format!(
        "{waiting} messages arrived in the dead-letter queue: consumers are failing to process them"
    );
    publish(
        ctx,
        queue,
        EventType::Warning,
        Reason::MessagesInDeadLetterQueue,
        "Observe",
        &note,
    )
    .await;
}

/// An Event saying why the SecureQueue is not Ready, if it is not.
async fn publish_failure(queue: &SecureQueue, report: &Report, ctx: &Context) {
    let Some(ready) = report.ready().filter(|r| !r.holds()) else {
        return;
    };
    // A new queue waiting for SQS to apply its policy is no failure.
    let type_ = if ready.reason == Reason::QueuePolicyPropagating {
        EventType::Normal
    } else {
        EventType::Warning
    };
    publish(ctx, queue, type_, ready.reason, "Reconcile", &ready.message).await;
}

async fn publish(
    ctx: &Context,
    queue: &SecureQueue,
    type_: EventType,
    reason: Reason,
    action: &str,
    note: &str,
) {
    if ctx.fence.check().is_err() {
        return;
    }
    let event = Event {
        type_,
        reason: reason.to_string(),
        // The API server refuses notes over 1 kB.
        note: Some(note.chars().take(1000).collect()),
        action: action.to_string(),
        secondary: None,
    };
    let repeats = [Reason::DriftCorrected, Reason::MessagesInDeadLetterQueue].contains(&reason);
    let published = if repeats {
        ctx.recorder.publish(&event, &queue.object_ref(&())).await
    } else {
        ctx.one_off_recorder()
            .publish(&event, &queue.object_ref(&()))
            .await
    };
    if let Err(error) = published {
        warn!(securequeue = %display_name(queue), %error, "could not publish an Event");
    }
}

/// Backoff after `failures` consecutive failures: 5 s doubling to 5 minutes, with up to 20%
/// jitter so that many failing SecureQueues do not retry in step.
pub fn backoff(failures: u32, jitter_seed: u64) -> Duration {
    let base = Duration::from_secs(5).saturating_mul(1 << failures.min(6));
    let base = base.min(Duration::from_secs(300));
    let jitter = base.mul_f64((jitter_seed % 200) as f64 / 1000.0);
    base + jitter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unfinished_deletion_counts_as_pending_through_the_finalizer() {
        let pending = || Error::DeletionPending("the key".into());
        let wrapped = Error::Finalizer(Box::new(finalizer::Error::CleanupFailed(pending())));
        assert_eq!(wrapped.result(), ReconcileResult::DeletionPending);
        assert_eq!(pending().result(), ReconcileResult::DeletionPending);
        let unnamed = Error::Finalizer(Box::new(finalizer::Error::UnnamedObject));
        assert_eq!(unnamed.result(), ReconcileResult::Error);
    }

    #[test]
    fn backoff_doubles_to_five_minutes_with_bounded_jitter() {
        assert_eq!(backoff(0, 0), Duration::from_secs(5));
        assert_eq!(backoff(1, 0), Duration::from_secs(10));
        assert_eq!(backoff(10, 0), Duration::from_secs(300));
        let jittered = backoff(2, 199);
        assert!(jittered > Duration::from_secs(20) && jittered < Duration::from_secs(24));
    }
}
