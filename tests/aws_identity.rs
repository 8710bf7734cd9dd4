//! A SecureQueue's resources never move: a pass refuses any change of region, account, queue
//! name or key alias that its status records, before any AWS call, and a SecureQueue without
//! `spec.region` stays in its recorded region when the operator's region changes.

mod common;
mod emulator;

use common::ACCOUNT;
use emulator::*;
use securequeue::api::{DeletionPolicy, SecureQueue, SecureQueueStatus};
use securequeue::aws::calls::CallLog;
use securequeue::reconcile::{Report, status};
use securequeue::resolve::Environment;

const OTHER_REGION: &str = "eu-west-1";

/// A SecureQueue `q` in `namespace` with one consumer and no `spec.region`.
fn regionless(namespace: &str) -> SecureQueue {
    let mut queue = secure_queue(namespace, "");
    queue.spec.region = None;
    queue
}

/// The status the controller would write after `report`, over `queue`'s.
fn recorded(queue: &SecureQueue, report: &Report) -> SecureQueueStatus {
    status::of_pass(
        report,
        Some(1),
        queue.status.as_ref(),
        jiff::Timestamp::now(),
    )
}

fn operator_in(region: &str) -> Environment {
    Environment {
        region: Some(region.to_string()),
        ..env()
    }
}

/// Asserts a refused pass: `ImmutableFieldChanged` naming `field`, and no AWS call.
fn assert_refused(report: &Report, field: &str) {
    assert_eq!(
        condition(report, "Ready"),
        ("False", "ImmutableFieldChanged"),
        "{report:#?}"
    );
    let message = &report.ready().unwrap().message;
    assert!(message.contains(field), "{message}");
    assert_eq!(report.calls.total(), 0, "{:?}", report.calls);
}

#[tokio::test]
async fn the_status_records_where_the_resources_are_once_they_exist() {
    let reconciler = reconciler().await;
    let namespace = unique_namespace("identity");
    let queue = secure_queue(&namespace, "");
    let report = converge(&reconciler, &queue).await;
    assert_ready(&report, "Created");
    let identity = recorded(&queue, &report).identity.expect("an identity");
    assert_eq!(
        (
            identity.partition.as_str(),
            identity.account_id.as_str(),
            identity.region.as_str()
        ),
        ("aws", ACCOUNT, REGION)
    );
    assert_eq!(identity.queue_name, format!("{namespace}-q"));
    assert_eq!(
        identity.dead_letter_queue_name,
        format!("{namespace}-q-dlq")
    );
    assert_eq!(
        identity.key_alias,
        format!("alias/securequeue/{namespace}/q")
    );
    let (kms, _) = raw().await;
    assert_eq!(
        identity.key_id,
        alias_target(&kms, &identity.key_alias).await
    );
}

#[tokio::test]
async fn a_pass_that_made_nothing_records_nothing() {
    let reconciler = reconciler().await;
    let namespace = unique_namespace("identity-none");
    inject_fault("CreateKey", "AccessDeniedException", 400, 1, &namespace);
    let queue = secure_queue(&namespace, "");
    let report = converge(&reconciler, &queue).await;
    assert_eq!(condition(&report, "Ready"), ("False", "AccessDenied"));
    assert_eq!(report.learned.identity, None);
    clear_faults(&namespace);
}

#[tokio::test]
async fn a_changed_spec_region_is_refused_and_nothing_is_made_in_the_new_region() {
    let reconciler = reconciler().await;
    let namespace = unique_namespace("identity-region");
    let mut queue = secure_queue(&namespace, "");
    let report = converge(&reconciler, &queue).await;
    assert_ready(&report, "Created");
    queue.status = Some(recorded(&queue, &report));

    queue.spec.region = Some(OTHER_REGION.to_string());
    let refused = converge(&reconciler, &queue).await;
    assert_refused(&refused, "spec.region");
    assert!(refused.ready().unwrap().message.contains("`us-east-1`"));
    let (kms, _) = raw_in(OTHER_REGION).await;
    assert!(keys_of(&kms, &namespace).await.is_empty());

    // Back to the recorded region: converged, nothing written.
    queue.spec.region = Some(REGION.to_string());
    let restored = converge(&reconciler, &queue).await;
    assert_ready(&restored, "Converged");
    assert_eq!(restored.calls.writes(), 0);
}

#[tokio::test]
async fn a_changed_key_alias_is_refused_and_the_key_stays() {
    let reconciler = reconciler().await;
    let namespace = unique_namespace("identity-alias");
    let mut queue = secure_queue(&namespace, "");
    queue.spec.key.alias = Some(format!("alias/{namespace}/first"));
    let report = converge(&reconciler, &queue).await;
    assert_ready(&report, "Created");
    queue.status = Some(recorded(&queue, &report));

    queue.spec.key.alias = Some(format!("alias/{namespace}/second"));
    assert_refused(&converge(&reconciler, &queue).await, "spec.key.alias");
    // Removing it means the default alias, another alias too.
    queue.spec.key.alias = None;
    assert_refused(&converge(&reconciler, &queue).await, "spec.key.alias");

    let (kms, _) = raw().await;
    assert_eq!(keys_of(&kms, &namespace).await.len(), 1);
    assert!(
        alias_target(&kms, &format!("alias/{namespace}/second"))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_changed_queue_name_is_refused_by_the_recorded_identity() {
    let reconciler = reconciler().await;
    let namespace = unique_namespace("identity-name");
    let mut queue = secure_queue(&namespace, "");
    let report = converge(&reconciler, &queue).await;
    queue.status = Some(recorded(&queue, &report));
    queue.spec.queue_name = Some(format!("{namespace}-renamed"));
    assert_refused(&converge(&reconciler, &queue).await, "spec.queueName");
}

#[tokio::test]
async fn without_spec_region_the_recorded_region_wins_over_a_new_operator_region() {
    let namespace = unique_namespace("identity-operator-region");
    let mut queue = regionless(&namespace);
    let before = reconciler_for(operator_in(REGION)).await;
    let report = converge(&before, &queue).await;
    assert_ready(&report, "Created");
    queue.status = Some(recorded(&queue, &report));

    // The platform team moves the operator to another region: nothing moves with it.
    let after = reconciler_for(operator_in(OTHER_REGION)).await;
    let kept = converge(&after, &queue).await;
    assert_ready(&kept, "Converged");
    assert_eq!(kept.calls.writes(), 0, "{:?}", kept.calls);
    let message = &kept.ready().unwrap().message;
    assert!(
        message.contains("in us-east-1, where status.identity records them"),
        "{message}"
    );
    assert_eq!(
        kept.learned.queue_arn.as_deref(),
        Some(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{namespace}-q").as_str())
    );
    let (kms, _) = raw_in(OTHER_REGION).await;
    assert!(keys_of(&kms, &namespace).await.is_empty());

    // A SecureQueue with nothing recorded goes to the operator's new region.
    let fresh_namespace = unique_namespace("identity-new-region");
    let fresh = converge(&after, &regionless(&fresh_namespace)).await;
    assert_ready(&fresh, "Created");
    assert_eq!(keys_of(&kms, &fresh_namespace).await.len(), 1);
}

#[tokio::test]
async fn a_new_operator_account_is_refused() {
    let namespace = unique_namespace("identity-account");
    let mut queue = secure_queue(&namespace, "");
    let report = converge(&reconciler().await, &queue).await;
    queue.status = Some(recorded(&queue, &report));
    let elsewhere = reconciler_for(Environment {
        account_id: "444455556666".to_string(),
        operator_role_arn: "arn:aws:iam::444455556666:role/securequeue-operator".to_string(),
        allow_cross_account: true,
        ..env()
    })
    .await;
    assert_refused(
        &converge(&elsewhere, &queue).await,
        "the operator's account",
    );
}

#[tokio::test]
async fn a_deletion_by_a_moved_spec_deletes_nothing_until_the_spec_is_restored() {
    let reconciler = reconciler().await;
    let namespace = unique_namespace("identity-delete");
    let mut queue = secure_queue(&namespace, "");
    queue.spec.deletion_policy = DeletionPolicy::Delete;
    let report = converge(&reconciler, &queue).await;
    queue.status = Some(recorded(&queue, &report));

    queue.spec.region = Some(OTHER_REGION.to_string());
    let refused = reconciler.delete(&queue, &CallLog::default()).await;
    assert!(!refused.finished());
    let failure = refused.failure().unwrap();
    assert_eq!(failure.reason, "ImmutableFieldChanged");
    assert!(
        failure.message.contains("spec.region"),
        "{}",
        failure.message
    );
    assert_eq!(refused.calls.total(), 0);
    let (kms, sqs) = raw().await;
    assert!(queue_url(&sqs, &format!("{namespace}-q")).await.is_some());

    queue.spec.region = Some(REGION.to_string());
    let deleted = reconciler.delete(&queue, &CallLog::default()).await;
    assert!(deleted.finished(), "{deleted:#?}");
    assert!(queue_url(&sqs, &format!("{namespace}-q")).await.is_none());
    let states = key_states(&kms, &namespace).await;
    assert_eq!(states, ["PendingDeletion"]);
}
