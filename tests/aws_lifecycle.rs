//! Crash safety and deletion in the moto emulator: a pass cut off after any number of calls is
//! finished by the next, never leaving a second key, an orphan or a half-made queue behind.

mod common;
mod emulator;

use emulator::*;
use securequeue::api::SecureQueue;
use securequeue::aws::calls::CallLog;
use securequeue::plan;
use securequeue::reconcile::Reconciler;

/// The number of calls a fresh converge makes without a durable record (`apply`): the planned
/// calls (see `plan::steps`) and the orphan search's ListAliases and ListKeys.
const FRESH_CALLS: u64 = 13;

/// The number of calls of a fresh converge whose status keeps the key ledger: the planned ones.
const RECORDED_FRESH_CALLS: u64 = 11;

/// Checks what a finished converge must leave: one key, enabled, aliased; both queues.
async fn assert_complete(queue: &SecureQueue) {
    let (kms, sqs) = raw().await;
    let namespace = queue.metadata.namespace.as_deref().unwrap();
    let plan = plan::build(queue, &env()).unwrap();
    let keys = keys_of(&kms, namespace).await;
    assert_eq!(keys.len(), 1, "exactly one key: {keys:?}");
    assert_eq!(keys[0].1, "Enabled");
    assert_eq!(
        alias_target(&kms, &plan.key.alias).await.as_ref(),
        Some(&keys[0].0)
    );
    assert!(
        queue_url(&sqs, &plan.dead_letter_queue.name)
            .await
            .is_some()
    );
    assert!(queue_url(&sqs, &plan.queue.name).await.is_some());
}

/// One deletion pass; whether it finished.
async fn delete(reconciler: &Reconciler, queue: &SecureQueue) -> bool {
    reconciler
        .delete(queue, &CallLog::default())
        .await
        .finished()
}

/// Checks what a finished deletion must leave: no queues, no alias, one key pending deletion.
async fn assert_deleted(queue: &SecureQueue) {
    let (kms, sqs) = raw().await;
    let plan = plan::build(queue, &env()).unwrap();
    assert!(queue_url(&sqs, &plan.queue.name).await.is_none());
    let dead_letter = queue_url(&sqs, &plan.dead_letter_queue.name).await;
    assert!(dead_letter.is_none());
    assert!(alias_target(&kms, &plan.key.alias).await.is_none());
    let keys = keys_of(&kms, queue.metadata.namespace.as_deref().unwrap()).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].1, "PendingDeletion");
}

#[tokio::test]
async fn a_converge_cut_off_after_any_call_is_finished_by_the_next_pass() {
    let reconciler = reconciler().await;
    // Keys that concurrent tests leave unaliased for a moment add lookups, so cut after every
    // call until a pass has enough calls to finish.
    for calls in 0.. {
        assert!(calls < 40, "no pass finished within 40 calls");
        let queue = secure_queue(&unique_namespace(&format!("crash{calls}")), "");
        let cut = reconciler
            .converge(&queue, &CallLog::stopping_after(calls))
            .await;
        if cut.is_ready() {
            assert!(calls >= FRESH_CALLS, "ready after only {calls} calls");
            break;
        }
        assert_eq!(cut.calls.total(), calls);
        assert!(
            cut.conditions.iter().any(|c| c.reason == "Interrupted"),
            "{cut:#?}"
        );
        assert!(!cut.needs_a_person());

        let resumed = converge(&reconciler, &queue).await;
        assert!(
            resumed.is_ready(),
            "resume after {calls} calls: {resumed:#?}"
        );
        assert_complete(&queue).await;
        let settled = converge(&reconciler, &queue).await;
        assert_ready(&settled, "Converged");
        assert_eq!(settled.calls.writes(), 0);
    }
}

/// The controller's path, whose status keeps the key ledger: a fresh converge makes the planned
/// calls and no more, a pass cut off after any call is finished by the next with exactly one
/// key, and the record of a creation is gone once the SecureQueue is Ready, unless the cut may
/// have sent a CreateKey whose key can still appear.
#[tokio::test]
async fn a_recorded_converge_cut_off_after_any_call_is_finished_by_the_next_pass() {
    let reconciler = reconciler().await;
    for calls in 0.. {
        assert!(
            calls <= FRESH_CALLS,
            "no pass finished within {FRESH_CALLS} calls"
        );
        let mut queue = secure_queue(&unique_namespace(&format!("ledger{calls}")), "");
        let ledger = KeptLedger::default();
        let log = CallLog::stopping_after(calls);
        let cut = converge_recorded_with(&reconciler, &mut queue, &ledger, &log).await;
        if cut.is_ready() {
            assert_eq!(calls, RECORDED_FRESH_CALLS, "{:?}", cut.calls);
            assert_eq!(ledger.record(), None);
            break;
        }
        assert!(!cut.needs_a_person(), "{cut:#?}");
        let resumed = converge_recorded(&reconciler, &mut queue, &ledger).await;
        assert!(
            resumed.is_ready(),
            "resume after {calls} calls: {resumed:#?}"
        );
        assert_complete(&queue).await;
        let settled = converge_recorded(&reconciler, &mut queue, &ledger).await;
        assert_ready(&settled, "Converged");
        assert_eq!(settled.calls.writes(), 0, "{:?}", settled.calls);
        let searched = settled.calls.0.contains_key("kms:ListKeys");
        assert_eq!(
            searched,
            ledger.record().is_some(),
            "after {calls} calls: only a kept record makes a pass search"
        );
    }
}

/// Without a durable record of its creation no key is created: a pass whose record cannot be
/// written stops before CreateKey and needs no person; the next pass, once it can write,
/// creates the one key.
#[tokio::test]
async fn a_key_whose_creation_cannot_be_recorded_is_not_created() {
    let reconciler = reconciler().await;
    let namespace = unique_namespace("unrecorded");
    let mut queue = secure_queue(&namespace, "");
    let refusing = KeptLedger::default();
    refusing.refuse_writes();
    let refused = converge_recorded(&reconciler, &mut queue, &refusing).await;
    assert_eq!(condition(&refused, "KeyReady"), ("False", "Interrupted"));
    assert!(!refused.needs_a_person());
    assert_eq!(
        refused.calls.0.get("kms:CreateKey"),
        None,
        "{:?}",
        refused.calls
    );
    let (kms, _) = raw().await;
    assert!(keys_of(&kms, &namespace).await.is_empty());
    let ledger = KeptLedger::default();
    let created = converge_recorded(&reconciler, &mut queue, &ledger).await;
    assert_ready(&created, "Created");
    assert_complete(&queue).await;
}

/// A key whose alias was deleted out of band is found by the id the status knows, without a
/// search of the region.
#[tokio::test]
async fn a_recorded_key_whose_alias_was_deleted_is_read_by_its_id() {
    let reconciler = reconciler().await;
    let mut queue = secure_queue(&unique_namespace("known-key"), "");
    let ledger = KeptLedger::default();
    assert_ready(
        &converge_recorded(&reconciler, &mut queue, &ledger).await,
        "Created",
    );
    let plan = plan::build(&queue, &env()).unwrap();
    let (kms, _) = raw().await;
    kms.delete_alias()
        .alias_name(&plan.key.alias)
        .send()
        .await
        .unwrap();
    let repaired = converge_recorded(&reconciler, &mut queue, &ledger).await;
    assert!(repaired.is_ready(), "{repaired:#?}");
    for listing in ["kms:ListKeys", "kms:ListAliases"] {
        assert_eq!(repaired.calls.0.get(listing), None, "{:?}", repaired.calls);
    }
    assert_eq!(repaired.calls.0.get("kms:CreateAlias"), Some(&1));
    assert_complete(&queue).await;
}

#[tokio::test]
async fn a_key_created_but_never_aliased_is_found_and_finished() {
    let reconciler = reconciler().await;
    let queue = secure_queue(&unique_namespace("orphan"), "");
    let cut = reconciler
        .converge(&queue, &CallLog::stopping_after_operation("kms:CreateKey"))
        .await;
    assert_eq!(cut.calls.0.get("kms:CreateKey"), Some(&1), "{cut:#?}");
    assert_eq!(cut.calls.0.get("kms:CreateAlias"), None, "{cut:#?}");

    let resumed = converge(&reconciler, &queue).await;
    assert_eq!(resumed.calls.0.get("kms:CreateKey"), None, "{resumed:#?}");
    assert_eq!(resumed.calls.0.get("kms:CreateAlias"), Some(&1));
    assert!(resumed.is_ready());
    assert_complete(&queue).await;
}

#[tokio::test]
async fn delete_removes_queues_and_alias_and_schedules_the_key() {
    let reconciler = reconciler().await;
    let namespace = unique_namespace("delete");
    let queue = secure_queue(
        &namespace,
        "  deletionPolicy: Delete\n  key: {deletionWindowDays: 7}\n",
    );
    assert_ready(&converge(&reconciler, &queue).await, "Created");

    let deletion = reconciler.delete(&queue, &CallLog::default()).await;
    assert!(deletion.finished(), "{deletion:#?}");
    assert!(deletion.steps.iter().all(|s| s.reason == "Deleted"));
    assert_deleted(&queue).await;

    let again = reconciler.delete(&queue, &CallLog::default()).await;
    assert!(again.finished(), "{again:#?}");
    assert_eq!(again.calls.writes(), 0, "{:?}", again.calls);
}

/// A deletion along the controller's path reads nothing account-wide when the ledger holds no
/// record, and still finds the unaliased key of a pass cut off after CreateKey when it does.
#[tokio::test]
async fn a_recorded_deletion_searches_only_where_the_ledger_says_a_key_may_hide() {
    let reconciler = reconciler().await;
    let spec = "  deletionPolicy: Delete\n";
    let mut made = secure_queue(&unique_namespace("ledger-delete"), spec);
    let ledger = KeptLedger::default();
    assert_ready(
        &converge_recorded(&reconciler, &mut made, &ledger).await,
        "Created",
    );
    let deletion = reconciler.delete_recorded(&made, &CallLog::default()).await;
    assert!(deletion.finished(), "{deletion:#?}");
    for listing in ["kms:ListKeys", "kms:ListAliases"] {
        assert_eq!(deletion.calls.0.get(listing), None, "{:?}", deletion.calls);
    }
    assert_deleted(&made).await;

    let mut cut = secure_queue(&unique_namespace("ledger-delete-cut"), spec);
    let ledger = KeptLedger::default();
    let log = CallLog::stopping_after_operation("kms:CreateKey");
    converge_recorded_with(&reconciler, &mut cut, &ledger, &log).await;
    assert!(ledger.record().is_some(), "the cut pass leaves its record");
    let deletion = reconciler.delete_recorded(&cut, &CallLog::default()).await;
    assert!(deletion.finished(), "{deletion:#?}");
    assert_eq!(
        deletion.calls.0.get("kms:ListKeys"),
        Some(&1),
        "{:?}",
        deletion.calls
    );
    let (kms, _) = raw().await;
    let keys = keys_of(&kms, cut.metadata.namespace.as_deref().unwrap()).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(
        keys[0].1, "PendingDeletion",
        "the unaliased key is not left behind"
    );
}

#[tokio::test]
async fn a_deletion_cut_off_after_any_call_is_finished_by_the_next_pass() {
    let reconciler = reconciler().await;
    // DeleteQueue twice, DeleteAlias and ScheduleKeyDeletion, with their lookups: cut before
    // each of the first dozen calls.
    for calls in 0..12 {
        let namespace = unique_namespace(&format!("delcrash{calls}"));
        let queue = secure_queue(&namespace, "  deletionPolicy: Delete\n");
        assert_ready(&converge(&reconciler, &queue).await, "Created");
        let cut = reconciler
            .delete(&queue, &CallLog::stopping_after(calls))
            .await;
        if cut.finished() {
            assert!(calls >= 8, "finished after only {calls} calls");
        }
        let resumed = reconciler.delete(&queue, &CallLog::default()).await;
        assert!(
            resumed.finished(),
            "resume after {calls} calls: {resumed:#?}"
        );
        assert_deleted(&queue).await;
    }
}

#[tokio::test]
async fn retain_leaves_everything_and_makes_no_calls() {
    let reconciler = reconciler().await;
    let queue = secure_queue(&unique_namespace("retain"), "  deletionPolicy: Retain\n");
    assert_ready(&converge(&reconciler, &queue).await, "Created");
    let deletion = reconciler.delete(&queue, &CallLog::default()).await;
    assert!(deletion.finished());
    assert!(deletion.steps.iter().all(|s| s.reason == "Retained"));
    assert_eq!(deletion.calls.total(), 0);
    assert_complete(&queue).await;
}

#[tokio::test]
async fn a_retained_queue_is_adopted_again_after_a_re_sync() {
    let reconciler = reconciler().await;
    let namespace = unique_namespace("resync");
    let mut queue = secure_queue(&namespace, "");
    queue.metadata.uid = Some("first".into());
    assert_ready(&converge(&reconciler, &queue).await, "Created");
    assert!(delete(&reconciler, &queue).await);
    queue.metadata.uid = Some("second".into());
    let adopted = converge(&reconciler, &queue).await;
    assert_ready(&adopted, "DriftCorrected");
    assert_eq!(adopted.calls.0.get("kms:CreateKey"), None);
    assert_complete(&queue).await;
}

#[tokio::test]
async fn a_deleted_then_recreated_secure_queue_revives_its_key() {
    let reconciler = reconciler().await;
    let (kms, _) = raw().await;
    let namespace = unique_namespace("revive");
    let queue = secure_queue(&namespace, "  deletionPolicy: Delete\n");
    assert_ready(&converge(&reconciler, &queue).await, "Created");
    assert!(delete(&reconciler, &queue).await);
    let again = converge(&reconciler, &queue).await;
    assert!(again.is_ready(), "{again:#?}");
    assert_eq!(again.calls.0.get("kms:CreateKey"), None);
    assert!(
        again
            .corrections
            .iter()
            .any(|c| c.to_string().contains("cancelled"))
    );
    assert_eq!(keys_of(&kms, &namespace).await.len(), 1);
    assert_complete(&queue).await;
}

#[tokio::test]
async fn delete_never_touches_a_queue_of_another_owner() {
    let reconciler = reconciler().await;
    let (_, sqs) = raw().await;
    let shared = unique_namespace("keep");
    let owner = secure_queue(
        &unique_namespace("owner"),
        &format!("  queueName: {shared}\n"),
    );
    assert_ready(&converge(&reconciler, &owner).await, "Created");
    let other = secure_queue(
        &unique_namespace("other"),
        &format!("  queueName: {shared}\n  deletionPolicy: Delete\n"),
    );
    let deletion = reconciler.delete(&other, &CallLog::default()).await;
    assert!(!deletion.finished());
    assert_eq!(deletion.failure().unwrap().reason, "NameConflict");
    assert_eq!(deletion.calls.writes(), 0);
    assert!(queue_url(&sqs, &shared).await.is_some());
}
