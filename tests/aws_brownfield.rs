//! Brownfield, against the emulator: queues and keys a team made by hand (with boto3) are
//! observed without a write, diffed with the exact writes and access changes, and adopted only
//! when nobody else owns them, after the adoption is recorded; the emulator's recorder proves
//! every "no write".

mod common;
mod emulator;

use common::OPERATOR_ROLE;
use common::cli::text;
use emulator::*;
use securequeue::api::{Management, SecureQueue};
use securequeue::guardrails::Guardrails;
use securequeue::reconcile::status;
use securequeue::resolve::Environment;

/// A SecureQueue of the hand-made queue `<namespace>-orders`, managed as `management` says.
fn brownfield(namespace: &str, management: &str) -> SecureQueue {
    secure_queue(
        namespace,
        &format!("  queueName: {namespace}-orders\n  management: {management}\n"),
    )
}

fn manifest(queue: &SecureQueue) -> String {
    serde_saphyr::to_string(queue).expect("a SecureQueue serializes")
}

#[tokio::test]
async fn an_open_queue_is_observed_through_create_drift_resync_and_deletion_without_a_write() {
    let namespace = unique_namespace("observe");
    let url = open_queue(&namespace, &[]);
    let queue = brownfield(&namespace, "Observe");
    let reconciler = reconciler().await;
    let mark = writes_so_far(&namespace);
    assert!(mark > 0, "the recorder sees the hand-made queue's writes");

    let report = converge(&reconciler, &queue).await;
    assert_eq!(condition(&report, "Ready"), ("False", "AccessFindings"));
    let ready = &report.conditions.last().unwrap().message;
    assert!(ready.contains("* can sqs:SendMessage"), "{ready}");
    assert_eq!(condition(&report, "KeyReady"), ("False", "Drifted"));
    assert_eq!(condition(&report, "QueueReady"), ("False", "Drifted"));
    assert!(
        report.learned.key_arn.is_none(),
        "no key exists: {report:#?}"
    );

    // Drift behind its back, then the resync's pass: still observed, still nothing written.
    let (_, sqs) = raw().await;
    sqs.tag_queue()
        .queue_url(&url)
        .tags("team", "payments")
        .send()
        .await
        .unwrap();
    let mark = mark + 1;
    let again = converge(&reconciler, &queue).await;
    assert_eq!(condition(&again, "Ready"), ("False", "AccessFindings"));
    let deleted = reconciler.delete(&queue, &Default::default()).await;
    assert!(deleted.finished(), "{deleted:#?}");

    assert_no_writes_since(&namespace, mark, "observing");
    let policy = queue_attributes(&sqs, &url).await["Policy"].clone();
    assert!(policy.contains("AnyoneMaySend"), "{policy}");
}

#[tokio::test]
async fn a_queue_matching_the_spec_is_observed_ready() {
    let namespace = unique_namespace("observe-ok");
    let managed = secure_queue(&namespace, "");
    let reconciler = reconciler().await;
    assert_ready(&converge(&reconciler, &managed).await, "Created");
    // Respell the policy as AWS hands policies back: same meaning, other spelling.
    let (_, sqs) = raw().await;
    let url = queue_url(&sqs, &format!("{namespace}-q")).await.unwrap();
    let policy: serde_json::Value =
        serde_json::from_str(&queue_attributes(&sqs, &url).await["Policy"]).unwrap();
    let mut respelled = policy.clone();
    respelled["Statement"].as_array_mut().unwrap().reverse();
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::Policy,
            respelled.to_string(),
        )
        .send()
        .await
        .unwrap();
    let steady = converge(&reconciler, &managed).await;
    assert_ready(&steady, "Converged");
    assert!(
        steady.access_changes.is_empty(),
        "policies read back respelled change nobody's access: {:#?}",
        steady.access_changes
    );
    let mark = writes_so_far(&namespace);
    let mut observed = managed.clone();
    observed.spec.management = Management::Observe;
    let report = converge(&reconciler, &observed).await;
    assert_ready(&report, "Converged");
    assert_no_writes_since(&namespace, mark, "observing");
}

#[test]
fn diff_shows_the_wildcard_losing_send_and_exits_2_without_a_write() {
    let namespace = unique_namespace("diff");
    open_queue(&namespace, &[]);
    let mark = writes_so_far(&namespace);
    let input = manifest(&brownfield(&namespace, "Adopt"));
    let args = ["diff", "-f", "-", "--operator-role-arn", OPERATOR_ROLE];
    let out = securequeue_cli(&args, &input);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("1. kms:CreateKey"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "* loses sqs:SendMessage on arn:aws:sqs:us-east-1:111122223333:{namespace}-orders"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("Policy.Statement[Sid=AnyoneMaySend]"),
        "{stdout}"
    );

    let dry = [
        "apply",
        "--dry-run",
        "-f",
        "-",
        "-o",
        "json",
        "--operator-role-arn",
        OPERATOR_ROLE,
    ];
    let out = securequeue_cli(&dry, &input);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let diffs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let writes = diffs[0]["writes"].as_array().unwrap();
    assert_eq!(writes[0]["operation"], "kms:CreateKey");
    let lost = diffs[0]["access"].as_array().unwrap().iter().any(|c| {
        c["principal"] == "*" && c["change"] == "Loses" && c["action"] == "sqs:SendMessage"
    });
    assert!(lost, "{diffs:#}");

    assert_no_writes_since(&namespace, mark, "diffing");
}

#[test]
fn diff_of_a_converged_queue_exits_0() {
    let namespace = unique_namespace("diff-none");
    let queue = secure_queue(&namespace, "");
    let input = manifest(&queue);
    let apply = securequeue_cli(
        &["apply", "-f", "-", "--operator-role-arn", OPERATOR_ROLE],
        &input,
    );
    assert!(apply.status.success(), "{}", text(&apply.stdout));
    let out = securequeue_cli(
        &["diff", "-f", "-", "--operator-role-arn", OPERATOR_ROLE],
        &input,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("0 writes"));
}

#[tokio::test]
async fn an_open_queue_is_adopted_after_its_record_and_keeps_its_old_key() {
    let namespace = unique_namespace("adopt");
    let old_key = hand_made(&["key", &format!("alias/{namespace}/old")]);
    let url = open_queue(&namespace, &[&old_key]);
    let queue = brownfield(&namespace, "Adopt");
    let reconciler = reconciler().await;
    let mark = writes_so_far(&namespace);

    let waiting = converge(&reconciler, &queue).await;
    assert_eq!(condition(&waiting, "Ready"), ("False", "AdoptionPending"));
    assert_no_writes_since(&namespace, mark, "before the record");

    let record = reconciler
        .adoption_for(&queue, &waiting)
        .await
        .expect("a record of the adoption");
    let queue_arn = format!("arn:aws:sqs:us-east-1:111122223333:{namespace}-orders");
    assert_eq!(record.resources, std::slice::from_ref(&queue_arn));
    let lost = format!("* loses sqs:SendMessage on {queue_arn}");
    assert!(record.access_lost.contains(&lost), "{record:#?}");
    assert_eq!(record.previous_keys, [format!("{queue_arn}: {old_key}")]);
    let note = status::adoption_note(&record);
    assert!(
        note.contains(&lost) && note.contains("keep these keys enabled"),
        "{note}"
    );

    let mut recorded = queue.clone();
    recorded.status = Some(status::with_adoption(None, record));
    let adopted = converge(&reconciler, &recorded).await;
    assert_ready(&adopted, "Adopted");
    assert_eq!(condition(&adopted, "QueueReady"), ("True", "Adopted"));

    let (kms, sqs) = raw().await;
    let attributes = queue_attributes(&sqs, &url).await;
    assert!(
        !attributes["Policy"].contains("AnyoneMaySend"),
        "{attributes:#?}"
    );
    assert!(attributes["KmsMasterKeyId"].contains(&format!("alias/securequeue/{namespace}/q")));
    assert_eq!(
        queue_tags(&sqs, &url).await["securequeue.io/namespace"],
        namespace
    );
    let old = kms.describe_key().key_id(&old_key).send().await.unwrap();
    assert_eq!(
        old.key_metadata().unwrap().key_state().unwrap().as_str(),
        "Enabled",
        "the old key still decrypts the messages it encrypted"
    );
    // From now on it is managed: the next pass finds it its own.
    assert_ready(&converge(&reconciler, &recorded).await, "Converged");
}

#[tokio::test]
async fn a_queue_of_another_cluster_is_never_adopted() {
    let namespace = unique_namespace("adopt-theirs");
    let tags = format!(
        r#"{{"securequeue.io/namespace":"{namespace}","securequeue.io/name":"q","securequeue.io/cluster":"another"}}"#
    );
    open_queue(&namespace, &["", &tags]);
    let queue = brownfield(&namespace, "Adopt");
    let reconciler = reconciler().await;
    let mark = writes_so_far(&namespace);
    let report = converge(&reconciler, &queue).await;
    assert_eq!(condition(&report, "Ready"), ("False", "NameConflict"));
    assert!(reconciler.adoption_for(&queue, &report).await.is_none());
    let mut claimed = queue.clone();
    let record = securequeue::api::AdoptionRecord {
        resources: vec![format!(
            "arn:aws:sqs:us-east-1:111122223333:{namespace}-orders"
        )],
        ..Default::default()
    };
    claimed.status = Some(status::with_adoption(None, record));
    let still = converge(&reconciler, &claimed).await;
    assert_eq!(
        condition(&still, "Ready"),
        ("False", "NameConflict"),
        "a record never outweighs another's tags"
    );
    assert_no_writes_since(&namespace, mark, "refusing another's queue");
}

#[tokio::test]
async fn a_key_pending_deletion_or_disabled_is_refused_with_what_to_do() {
    for (state, advice) in [
        ("pending-deletion", "cancel-key-deletion"),
        ("disabled", "enable-key"),
    ] {
        let namespace = unique_namespace("adopt-key");
        let alias = format!("alias/securequeue/{namespace}/key");
        let key_id = hand_made(&["key", &alias, state]);
        let queue = secure_queue(
            &namespace,
            &format!("  management: Adopt\n  key:\n    alias: {alias}\n"),
        );
        let reconciler = reconciler().await;
        let marks = (writes_so_far(&namespace), writes_so_far(&key_id));
        let report = converge(&reconciler, &queue).await;
        assert_eq!(
            condition(&report, "KeyReady"),
            ("False", "KeyUnusable"),
            "{state}"
        );
        let message = &report.conditions[0].message;
        assert!(message.contains(advice), "{state}: {message}");
        assert_no_writes_since(&namespace, marks.0, state);
        assert_no_writes_since(&key_id, marks.1, state);
    }
}

#[tokio::test]
async fn an_adoption_its_owner_has_not_granted_says_what_to_grant() {
    let namespace = unique_namespace("adopt-denied");
    open_queue(&namespace, &[]);
    let queue = brownfield(&namespace, "Adopt");
    let reconciler = reconciler().await;
    let waiting = converge(&reconciler, &queue).await;
    let record = reconciler.adoption_for(&queue, &waiting).await.unwrap();
    let mut recorded = queue.clone();
    recorded.status = Some(status::with_adoption(None, record));
    // As AWS answers while the queue's policy does not yet grant the operator's role.
    inject_fault(
        "SetQueueAttributes",
        "AccessDenied",
        400,
        1,
        &format!("{namespace}-orders\""),
    );
    let refused = converge(&reconciler, &recorded).await;
    clear_faults(&format!("{namespace}-orders\""));
    assert_eq!(condition(&refused, "QueueReady"), ("False", "AccessDenied"));
    let message = &refused.conditions[2].message;
    assert!(
        message.contains("AllowTheOperatorToManageTheQueue"),
        "{message}"
    );
    assert!(
        message.contains("adopts only what its owner hands over"),
        "{message}"
    );
}

/// Tenancy: namespace `N` cannot observe the SecureQueue of namespace `N-b` through a queue
/// name both share the start of (`N-b-orders` starts with `N-`); the ownership tags decide. The
/// platform team's trust across tenants lets it.
#[tokio::test]
async fn an_observer_reads_nothing_of_another_namespaces_secure_queue_unless_trusted() {
    let namespace = unique_namespace("tenant");
    let neighbour = format!("{namespace}-b");
    let theirs = secure_queue(&neighbour, "");
    assert_ready(&converge(&reconciler().await, &theirs).await, "Created");
    let observer = secure_queue(
        &namespace,
        &format!("  management: Observe\n  queueName: {neighbour}-q\n"),
    );
    let mark = writes_so_far(&neighbour);
    let refused = converge(&reconciler().await, &observer).await;
    let conflict = refused
        .conditions
        .iter()
        .find(|c| c.reason == "NameConflict")
        .unwrap_or_else(|| panic!("no NameConflict: {refused:#?}"));
    let message = &conflict.message;
    assert!(message.contains("--cross-tenant-namespaces"), "{message}");
    assert!(refused.access_findings.is_empty(), "{refused:#?}");

    let trusting = reconciler_for(Environment {
        guardrails: Guardrails {
            cross_tenant_namespaces: vec![namespace.clone()],
            ..Guardrails::default()
        },
        ..env()
    })
    .await;
    let observed = converge(&trusting, &observer).await;
    let reasons: Vec<_> = observed
        .conditions
        .iter()
        .map(|c| c.reason.as_str())
        .collect();
    assert!(!reasons.contains(&"NameConflict"), "{observed:#?}");
    assert_eq!(
        condition(&observed, "QueueReady"),
        ("False", "Drifted"),
        "its key is not the observer's"
    );
    assert_no_writes_since(&neighbour, mark, "observing");
}

/// Tenancy: a name outside the namespace's is refused before any AWS call.
#[test]
fn an_adoption_outside_the_namespaces_names_is_refused_before_aws() {
    let namespace = unique_namespace("tenant-cli");
    let queue = secure_queue(
        &namespace,
        &format!("  management: Adopt\n  queueName: other-{namespace}\n"),
    );
    let out = securequeue_cli(
        &["apply", "-f", "-", "--operator-role-arn", OPERATOR_ROLE],
        &manifest(&queue),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for part in [
        "spec.queueName: `other-",
        "--cross-tenant-namespaces",
        "nothing was changed in AWS",
    ] {
        assert!(stderr.contains(part), "{stderr}");
    }
    assert!(requests_touching(&namespace).is_empty());
}
