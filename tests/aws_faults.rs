//! AWS failures in the moto emulator, scripted through the launcher: access denied, throttling
//! and KMS refusing a key policy each become a condition naming the step, the AWS error code and
//! what to do, with nothing half-made.

mod common;
mod emulator;

use std::time::Duration;

use emulator::*;
use securequeue::aws::ConnectOptions;
use securequeue::aws::budget::REQUEUES;
use securequeue::aws::calls::CallLog;
use securequeue::aws::request_quota::{QuotaOverride, QuotaSettings};
use securequeue::fence::WriteFence;
use securequeue::reconcile::Report;
use serde_json::json;

#[tokio::test]
async fn access_denied_on_create_key_is_reported_and_nothing_is_created() {
    let reconciler = reconciler().await;
    let (kms, sqs) = raw().await;
    let namespace = unique_namespace("denied");
    let queue = secure_queue(&namespace, "");
    inject_fault("CreateKey", "AccessDeniedException", 400, 1, &namespace);
    let report = converge(&reconciler, &queue).await;
    assert_eq!(condition(&report, "KeyReady"), ("False", "AccessDenied"));
    assert_eq!(condition(&report, "DeadLetterQueueReady").1, "Blocked");
    assert_eq!(condition(&report, "Ready"), ("False", "AccessDenied"));
    let message = &report.conditions[0].message;
    assert!(
        message.contains("kms:CreateKey") && message.contains("AccessDeniedException"),
        "{message}"
    );
    assert!(message.contains("IAM"), "{message}");
    assert!(report.needs_a_person());
    assert!(keys_of(&kms, &namespace).await.is_empty());
    assert!(queue_url(&sqs, &format!("{namespace}-q")).await.is_none());

    assert_ready(&converge(&reconciler, &queue).await, "Created");
}

#[tokio::test]
async fn access_denied_on_a_queue_is_reported_on_that_step() {
    let reconciler = reconciler().await;
    let namespace = unique_namespace("denied-sqs");
    let queue = secure_queue(&namespace, "");
    inject_fault(
        "CreateQueue",
        "AWS.SimpleQueueService.AccessDenied",
        403,
        1,
        &format!("{namespace}-q\""),
    );
    let report = converge(&reconciler, &queue).await;
    assert_eq!(condition(&report, "KeyReady"), ("True", "Created"));
    assert_eq!(
        condition(&report, "DeadLetterQueueReady"),
        ("True", "Created")
    );
    assert_eq!(condition(&report, "QueueReady"), ("False", "AccessDenied"));
    assert!(report.learned.key_arn.is_some() && report.learned.dead_letter_queue_url.is_some());
    assert_ready(&converge(&reconciler, &queue).await, "Created");
}

#[tokio::test]
async fn a_brief_throttle_is_sent_again_at_its_turn_as_the_same_call() {
    let reconciler = reconciler().await;
    let namespace = unique_namespace("throttle-once");
    let queue = secure_queue(&namespace, "");
    inject_fault("CreateKey", "ThrottlingException", 400, 1, &namespace);
    let report = converge(&reconciler, &queue).await;
    assert_ready(&report, "Created");
    assert_eq!(
        report.calls.0.get("kms:CreateKey"),
        Some(&1),
        "retries are not new calls"
    );
}

#[tokio::test]
async fn persistent_throttling_becomes_a_condition_and_the_next_pass_continues() {
    let reconciler = reconciler().await;
    let (kms, _) = raw().await;
    let namespace = unique_namespace("throttle");
    let queue = secure_queue(&namespace, "");
    inject_fault("CreateKey", "ThrottlingException", 400, 10, &namespace);
    let report = converge(&reconciler, &queue).await;
    assert_eq!(condition(&report, "KeyReady"), ("False", "Throttled"));
    assert!(report.conditions[0].message.contains("next pass retries"));
    assert!(!report.needs_a_person());
    assert!(keys_of(&kms, &namespace).await.is_empty());
    // A pass spends nine attempts of the ten faults (the first and eight requeues); a later
    // pass gets through.
    let mut last = converge(&reconciler, &queue).await;
    for _ in 0..3 {
        if last.is_ready() {
            break;
        }
        last = converge(&reconciler, &queue).await;
    }
    assert!(last.is_ready(), "{last:#?}");
    assert_eq!(keys_of(&kms, &namespace).await.len(), 1);
}

#[tokio::test]
async fn a_key_policy_kms_refuses_is_reported_with_the_likely_cause() {
    let reconciler = reconciler().await;
    let namespace = unique_namespace("malformed");
    let queue = secure_queue(&namespace, "");
    inject_fault(
        "CreateKey",
        "MalformedPolicyDocumentException",
        400,
        1,
        &namespace,
    );
    let report = converge(&reconciler, &queue).await;
    assert_eq!(condition(&report, "KeyReady"), ("False", "PolicyRejected"));
    assert!(report.conditions[0].message.contains("roles that do not"));
}

#[tokio::test]
async fn a_server_error_that_outlasts_the_retries_is_reported_as_unavailable() {
    let reconciler = reconciler().await;
    let namespace = unique_namespace("unavailable");
    let queue = secure_queue(&namespace, "");
    inject_fault("GetQueueUrl", "InternalError", 500, 8, &namespace);
    let report = converge(&reconciler, &queue).await;
    assert_eq!(
        condition(&report, "Ready").1,
        "AwsUnavailable",
        "{report:#?}"
    );
    assert_eq!(report.calls.writes(), 0);
}

/// The kinds of trouble an AWS call can meet on the way, as faults for the launcher: AWS errors
/// that outlast the SDK's retries, an answer slower than the attempt timeout (the request is
/// then carried out late, as a slow AWS would), and a connection dropped without an answer.
/// Each with the condition reason it must produce.
fn troubles() -> Vec<(&'static str, serde_json::Value, &'static str)> {
    vec![
        (
            "ThrottlingException",
            json!({"code": "ThrottlingException", "status": 400}),
            "Throttled",
        ),
        (
            "RequestThrottled",
            json!({"code": "RequestThrottled", "status": 400}),
            "Throttled",
        ),
        (
            "500",
            json!({"code": "InternalFailure", "status": 500}),
            "AwsUnavailable",
        ),
        (
            "503",
            json!({"code": "ServiceUnavailable", "status": 503}),
            "AwsUnavailable",
        ),
        ("slow", json!({"delayMs": SLOW_ANSWER_MS}), "AwsUnavailable"),
        ("dropped", json!({"drop": true}), "AwsUnavailable"),
    ]
}

/// How many times a trouble must strike one call before the pass gives up on it: a throttled
/// request waits for its turn at its budget again, up to `REQUEUES` times; other failures get
/// the SDK's four attempts.
fn attempts_until_given_up(reason: &str) -> u32 {
    if reason == "Throttled" {
        REQUEUES + 1
    } else {
        4
    }
}

/// How long the reconciler meeting slow answers waits for one attempt, and how late those
/// answers come: far enough apart that a machine under load neither turns an ordinary answer
/// into a timeout nor a slow one into an answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
const SLOW_ANSWER_MS: u64 = 5_000;

/// A reconciler that gives up on an attempt after [`ATTEMPT_TIMEOUT`], so a slow answer is one.
async fn impatient() -> securequeue::reconcile::Reconciler {
    reconciler_with(ConnectOptions {
        attempt_timeout: Some(ATTEMPT_TIMEOUT),
        ..ConnectOptions::default()
    })
    .await
}

/// The reconciler to meet `trouble` with: [`impatient`] for a slow answer; otherwise the
/// operator's own timeout, so that load on the machine adds no timeouts (and retries, which
/// would use up the scripted faults early) of its own.
async fn meeting(trouble: &str) -> securequeue::reconcile::Reconciler {
    if trouble == "slow" {
        impatient().await
    } else {
        reconciler().await
    }
}

/// Passes until one is Ready (at most `passes`), checking that none before it claimed Ready.
async fn converge_until_ready(
    reconciler: &securequeue::reconcile::Reconciler,
    queue: &securequeue::api::SecureQueue,
    passes: usize,
) -> Report {
    let mut report = converge(reconciler, queue).await;
    for _ in 1..passes {
        if report.is_ready() {
            break;
        }
        report = converge(reconciler, queue).await;
    }
    report
}

/// One key in use behind the alias, every other key of the namespace scheduled for deletion,
/// both queues present: nothing duplicated, nothing orphaned.
async fn assert_one_of_each(
    kms: &aws_sdk_kms::Client,
    queue: &securequeue::api::SecureQueue,
    case: &str,
) {
    let (_, sqs) = raw().await;
    let plan = securequeue::plan::build(queue, &env()).unwrap();
    let namespace = queue.metadata.namespace.as_deref().unwrap();
    let target = alias_target(kms, &plan.key.alias).await;
    let keys = keys_of(kms, namespace).await;
    let live: Vec<_> = keys
        .iter()
        .filter(|(_, state)| state != "PendingDeletion")
        .collect();
    assert_eq!(live.len(), 1, "{case}: {keys:?}");
    assert_eq!(
        Some(&live[0].0),
        target.as_ref(),
        "{case}: the alias names the live key"
    );
    for name in [&plan.dead_letter_queue.name, &plan.queue.name] {
        assert!(
            queue_url(&sqs, name).await.is_some(),
            "{case}: {name} missing"
        );
    }
}

/// Every step of a fresh converge that a fault can be aimed at, meeting every kind of trouble
/// until the operator gives up on the call: the pass tells the truth (never Ready early), and once the trouble
/// stops the SecureQueue converges with one key, one alias and two queues. A CreateKey whose
/// answer is lost (slow, dropped, 5xx) is not retried by the SDK; the key it made late is
/// adopted, or scheduled for deletion if the next pass had made another.
#[tokio::test]
async fn every_step_of_a_converge_meeting_any_trouble_ends_with_one_of_each() {
    let (kms, _) = raw().await;
    let steps = [
        "DescribeKey",
        "GetQueueUrl",
        "CreateKey",
        "CreateAlias",
        "EnableKeyRotation",
        "CreateQueue",
    ];
    let mut cases = Vec::new();
    let mut period = 2_000;
    for operation in steps {
        for (trouble, fault, reason) in troubles() {
            let sqs = matches!(operation, "GetQueueUrl" | "CreateQueue");
            if !sqs && trouble == "RequestThrottled" {
                continue; // SQS's throttling code
            }
            period += 1;
            cases.push((operation, trouble, fault, reason, period));
        }
    }
    // Each case has a process of its own: a throttle slows its operation for every pass of a
    // process.
    let runs = cases
        .into_iter()
        .map(|(operation, trouble, mut fault, reason, period)| {
            let kms = &kms;
            async move {
                let reconciler = &meeting(trouble).await;
                let case = format!("{operation} {trouble}");
                let namespace = unique_namespace("trouble");
                let queue = secure_queue(
                    &namespace,
                    &format!("  key: {{rotationPeriodDays: {period}}}\n"),
                );
                let aim = match operation {
                    "GetQueueUrl" | "CreateQueue" => format!("{namespace}-q-dlq"),
                    "EnableKeyRotation" => format!("\"RotationPeriodInDays\":{period}"),
                    _ => namespace.clone(),
                };
                fault["operation"] = json!(operation);
                fault["count"] = json!(attempts_until_given_up(reason));
                fault["bodyContains"] = json!(aim);
                inject(fault);
                let failed = converge(reconciler, &queue).await;
                assert!(!failed.is_ready(), "{case}: Ready while failing");
                assert!(
                    failed
                        .conditions
                        .iter()
                        .any(|c| c.status == "False" && c.reason == reason),
                    "{case}: {:#?}",
                    failed.conditions
                );
                assert!(!failed.needs_a_person(), "{case}: transient, yet Stalled");
                let recovered = converge_until_ready(reconciler, &queue, 5).await;
                assert!(recovered.is_ready(), "{case}: {recovered:#?}");
                clear_faults(&aim);
                // Requests answered late land now; the next passes find what they made.
                tokio::time::sleep(Duration::from_millis(SLOW_ANSWER_MS + 100)).await;
                let settled = converge_until_ready(reconciler, &queue, 3).await;
                assert!(settled.is_ready(), "{case}: {settled:#?}");
                assert_one_of_each(kms, &queue, &case).await;
            }
        });
    futures::future::join_all(runs).await;
}

/// Every call of a deletion that a fault can be aimed at, meeting every kind of trouble: the
/// deletion reports the step that failed and is not finished; once the trouble stops it
/// finishes with both queues gone and every key of the SecureQueue scheduled for deletion.
#[tokio::test]
async fn every_step_of_a_deletion_meeting_any_trouble_finishes_once_it_stops() {
    let (kms, sqs) = raw().await;
    let steps = [
        ("GetQueueUrl", "sqs"),
        ("DeleteQueue", "sqs"),
        ("DescribeKey", "kms"),
        ("DeleteAlias", "kms"),
        ("ScheduleKeyDeletion", "kms"),
    ];
    let mut cases = Vec::new();
    for (operation, service) in steps {
        for (trouble, fault, reason) in troubles() {
            if service == "kms" && trouble == "RequestThrottled" {
                continue;
            }
            cases.push((operation, trouble, fault, reason));
        }
    }
    let runs = cases
        .into_iter()
        .map(|(operation, trouble, mut fault, reason)| {
            let (kms, sqs) = (&kms, &sqs);
            async move {
                let reconciler = &meeting(trouble).await;
                let case = format!("{operation} {trouble}");
                let namespace = unique_namespace("deltrouble");
                let mut queue = secure_queue(&namespace, "  deletionPolicy: Delete\n");
                queue.spec.deletion_policy = securequeue::api::DeletionPolicy::Delete;
                let created = converge_until_ready(reconciler, &queue, 3).await;
                assert!(created.is_ready(), "{case}: {created:#?}");
                let key_id = created
                    .learned
                    .key_arn
                    .as_deref()
                    .and_then(|arn| arn.rsplit('/').next())
                    .unwrap()
                    .to_string();
                let aim = match operation {
                    "ScheduleKeyDeletion" => key_id,
                    "GetQueueUrl" | "DeleteQueue" => format!("{namespace}-q-dlq"),
                    _ => namespace.clone(),
                };
                fault["operation"] = json!(operation);
                fault["count"] = json!(attempts_until_given_up(reason));
                fault["bodyContains"] = json!(aim);
                inject(fault);
                let failed = reconciler.delete(&queue, &CallLog::default()).await;
                assert!(
                    !failed.finished(),
                    "{case}: finished while failing: {failed:#?}"
                );
                let mut deletion = failed;
                for _ in 0..4 {
                    if deletion.finished() {
                        break;
                    }
                    deletion = reconciler.delete(&queue, &CallLog::default()).await;
                }
                assert!(deletion.finished(), "{case}: {deletion:#?}");
                clear_faults(&aim);
                tokio::time::sleep(Duration::from_millis(SLOW_ANSWER_MS + 100)).await;
                assert!(
                    reconciler
                        .delete(&queue, &CallLog::default())
                        .await
                        .finished(),
                    "{case}: a later deletion pass fails"
                );
                let plan = securequeue::plan::build(&queue, &env()).unwrap();
                for name in [&plan.dead_letter_queue.name, &plan.queue.name] {
                    assert!(queue_url(sqs, name).await.is_none(), "{case}: {name} left");
                }
                assert_eq!(alias_target(kms, &plan.key.alias).await, None, "{case}");
                let keys = keys_of(kms, &namespace).await;
                assert!(
                    !keys.is_empty() && keys.iter().all(|(_, state)| state == "PendingDeletion"),
                    "{case}: {keys:?}"
                );
            }
        });
    futures::future::join_all(runs).await;
}

/// The path a throttled TagResource left before the rule was one: a key whose CreateKey answer
/// was lost, so the next pass found it by its description and made its alias, then met a second
/// failure before tagging it. The key is the SecureQueue's by its description however it is
/// found, so the next pass tags it (a Normal correction) instead of blaming the user with a
/// NameConflict forever; a deletion knows it the same way.
#[tokio::test]
async fn an_aliased_key_whose_tagging_was_cut_off_is_still_ours() {
    let reconciler = reconciler().await;
    let (kms, _) = raw().await;
    let namespace = unique_namespace("untagged-alias");
    let queue = secure_queue(&namespace, "  deletionPolicy: Delete\n");
    let plan = securequeue::plan::build(&queue, &env()).unwrap();
    let made = kms
        .create_key()
        .description(&plan.key.description)
        .send()
        .await
        .expect("CreateKey");
    let key_id = made.key_metadata().unwrap().key_id().to_string();
    kms.create_alias()
        .alias_name(&plan.key.alias)
        .target_key_id(&key_id)
        .send()
        .await
        .expect("CreateAlias");

    let report = converge(&reconciler, &queue).await;
    assert!(report.is_ready(), "{report:#?}");
    assert_eq!(condition(&report, "KeyReady").1, "DriftCorrected");
    assert!(
        report
            .corrections
            .iter()
            .any(|c| c.step == "KeyReady" && c.repair.action == "FinishTagging"),
        "{:#?}",
        report.corrections
    );
    assert_eq!(
        keys_of(&kms, &namespace).await,
        [(key_id.clone(), "Enabled".to_string())]
    );
    assert_one_of_each(&kms, &queue, "tagged late").await;

    // The same key, aliased and untagged again, is deleted as this SecureQueue's.
    kms.untag_resource()
        .key_id(&key_id)
        .set_tag_keys(Some(plan.key.tags.keys().cloned().collect()))
        .send()
        .await
        .expect("UntagResource");
    let deletion = reconciler.delete(&queue, &CallLog::default()).await;
    assert!(deletion.finished(), "{deletion:#?}");
    assert_eq!(alias_target(&kms, &plan.key.alias).await, None);
    assert_eq!(
        keys_of(&kms, &namespace).await,
        [(key_id, "PendingDeletion".to_string())]
    );
}

/// The seeds the chaos properties try: `SECUREQUEUE_CHAOS_SEEDS` of them (12 unless set), or
/// only `SECUREQUEUE_CHAOS_SEED` to replay one.
fn chaos_seeds() -> Vec<u64> {
    let read = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.parse::<u64>().expect(name))
    };
    match read("SECUREQUEUE_CHAOS_SEED") {
        Some(seed) => vec![seed],
        None => (1..=read("SECUREQUEUE_CHAOS_SEEDS").unwrap_or(12)).collect(),
    }
}

/// How likely each write call is to meet trouble while the chaos lasts.
const CHAOS_PROBABILITY: f64 = 0.35;

/// Makes every write call touching `scope` meet trouble independently, as the emulator's chaos
/// fault does: a throttle outlasting every requeue, a 5xx, or an answer lost (dropped or too
/// slow) after the request took effect.
fn inject_chaos(scope: &str, seed: u64) {
    inject(json!({
        "chaos": {
            "seed": seed,
            "probability": CHAOS_PROBABILITY,
            "throttledCalls": REQUEUES + 1,
            "slowMs": SLOW_ANSWER_MS,
        },
        "bodyContains": scope,
    }));
}

/// Refusals that blame the user or wait for a person: never right for a SecureQueue's own
/// resources, whatever failed on the way.
fn assert_never_refused_as_foreign(reasons: &[&str], seed: u64, when: &str) {
    for refusal in ["NameConflict", "AdoptionPending"] {
        assert!(
            !reasons.contains(&refusal),
            "seed {seed}, {when}: {refusal} for the SecureQueue's own resources: {reasons:?}"
        );
    }
}

fn reasons(report: &Report) -> Vec<&str> {
    report
        .conditions
        .iter()
        .map(|c| c.reason.as_str())
        .collect()
}

/// How a pass knows what earlier ones sent: `apply`'s process memory, or the controller's
/// status, which keeps the key ledger.
enum Path {
    Memory,
    Recorded(KeptLedger),
}

/// One converge pass of `queue` along `path`.
async fn pass_along(
    reconciler: &securequeue::reconcile::Reconciler,
    queue: &mut securequeue::api::SecureQueue,
    path: &Path,
) -> Report {
    match path {
        Path::Memory => converge(reconciler, queue).await,
        Path::Recorded(ledger) => converge_recorded(reconciler, queue, ledger).await,
    }
}

/// One deletion pass of `queue` along `path`.
async fn delete_along(
    reconciler: &securequeue::reconcile::Reconciler,
    queue: &securequeue::api::SecureQueue,
    path: &Path,
) -> securequeue::reconcile::Deletion {
    match path {
        Path::Memory => reconciler.delete(queue, &CallLog::default()).await,
        Path::Recorded(_) => reconciler.delete_recorded(queue, &CallLog::default()).await,
    }
}

/// A few passes in a row in which every write (first passes and recovery passes, concurrent
/// writes each on its own) may fail with a throttle, a 5xx, or a timeout whose request took
/// effect; afterwards fault-free passes bring the SecureQueue to Ready with exactly one key, one
/// alias and two queues, and then write nothing. No pass ever calls its own resources another's.
/// A failing seed is replayed with `SECUREQUEUE_CHAOS_SEED`.
#[tokio::test]
async fn any_write_failing_in_any_pass_still_ends_ready_with_one_of_each() {
    chaos_converges(|| Path::Memory).await;
}

/// The same along the controller's path, whose status keeps the key ledger: what the ledger
/// spares (the orphan search of a fresh converge) never costs a second key.
#[tokio::test]
async fn any_write_failing_in_any_recorded_pass_still_ends_ready_with_one_of_each() {
    chaos_converges(|| Path::Recorded(KeptLedger::default())).await;
}

async fn chaos_converges(path: impl Fn() -> Path) {
    let (kms, _) = raw().await;
    let runs = chaos_seeds().into_iter().map(|seed| {
        let kms = &kms;
        let path = path();
        async move {
            let reconciler = &impatient().await;
            let namespace = unique_namespace(&format!("chaos{seed}"));
            let mut queue = secure_queue(&namespace, "");
            let queue = &mut queue;
            inject_chaos(&namespace, seed);
            for pass in 0..2 + seed % 3 {
                let report = pass_along(reconciler, queue, &path).await;
                let when = format!("faulty pass {pass}");
                assert_never_refused_as_foreign(&reasons(&report), seed, &when);
                assert!(!report.needs_a_person(), "seed {seed}, {when}: {report:#?}");
            }
            clear_faults(&namespace);
            let mut report = pass_along(reconciler, queue, &path).await;
            for _ in 0..5 {
                assert_never_refused_as_foreign(&reasons(&report), seed, "a fault-free pass");
                if report.is_ready() {
                    break;
                }
                report = pass_along(reconciler, queue, &path).await;
            }
            assert!(report.is_ready(), "seed {seed}: {report:#?}");
            assert_one_of_each(kms, queue, &format!("seed {seed}")).await;
            let settled = pass_along(reconciler, queue, &path).await;
            assert!(settled.is_ready(), "seed {seed}: {settled:#?}");
            assert_eq!(
                settled.calls.write_operations(),
                Vec::<&str>::new(),
                "seed {seed}: a settled SecureQueue still writes"
            );
        }
    });
    futures::future::join_all(runs).await;
}

/// The same for deletion: a SecureQueue created under chaos (half-made for odd seeds, finished
/// for even ones) and deleted under chaos is, after fault-free deletion passes, gone: no queue,
/// no alias, and every key it made (known by its tags or its description) scheduled for deletion.
#[tokio::test]
async fn any_write_failing_in_any_deletion_pass_still_ends_with_nothing_left() {
    chaos_deletions(|| Path::Memory).await;
}

/// The same along the controller's path: a deletion that reads the key ledger, and so searches
/// only where a record says an unaliased key may exist, still leaves no live key behind.
#[tokio::test]
async fn any_write_failing_in_any_recorded_deletion_pass_still_ends_with_nothing_left() {
    chaos_deletions(|| Path::Recorded(KeptLedger::default())).await;
}

async fn chaos_deletions(path: impl Fn() -> Path) {
    let (kms, sqs) = raw().await;
    let runs = chaos_seeds().into_iter().map(|seed| {
        let (kms, sqs) = (&kms, &sqs);
        let path = path();
        async move {
            let reconciler = &impatient().await;
            let namespace = unique_namespace(&format!("delchaos{seed}"));
            let mut queue = secure_queue(&namespace, "  deletionPolicy: Delete\n");
            let queue = &mut queue;
            inject_chaos(&namespace, seed);
            let mut report = pass_along(reconciler, queue, &path).await;
            for _ in 0..seed % 3 {
                report = pass_along(reconciler, queue, &path).await;
            }
            if seed % 2 == 0 {
                clear_faults(&namespace);
                for _ in 0..5 {
                    if report.is_ready() {
                        break;
                    }
                    report = pass_along(reconciler, queue, &path).await;
                }
                assert!(report.is_ready(), "seed {seed}: {report:#?}");
                inject_chaos(&namespace, seed);
            }
            for pass in 0..2 + seed % 3 {
                let deletion = delete_along(reconciler, queue, &path).await;
                let reasons: Vec<_> = deletion.steps.iter().map(|s| s.reason.as_str()).collect();
                let when = format!("faulty deletion pass {pass}");
                assert_never_refused_as_foreign(&reasons, seed, &when);
            }
            clear_faults(&namespace);
            let mut deletion = delete_along(reconciler, queue, &path).await;
            for _ in 0..5 {
                if deletion.finished() {
                    break;
                }
                deletion = delete_along(reconciler, queue, &path).await;
            }
            assert!(deletion.finished(), "seed {seed}: {deletion:#?}");
            let plan = securequeue::plan::build(queue, &env()).unwrap();
            for name in [&plan.dead_letter_queue.name, &plan.queue.name] {
                assert!(
                    queue_url(sqs, name).await.is_none(),
                    "seed {seed}: {name} left"
                );
            }
            assert_eq!(
                alias_target(kms, &plan.key.alias).await,
                None,
                "seed {seed}"
            );
            let keys = keys_of(kms, &namespace).await;
            assert!(
                keys.iter().all(|(_, state)| state == "PendingDeletion"),
                "seed {seed}: {keys:?}"
            );
        }
    });
    futures::future::join_all(runs).await;
}

/// A reconciler whose writes pass `fence`, with `quotas`.
async fn fenced(fence: &WriteFence, quotas: QuotaSettings) -> securequeue::reconcile::Reconciler {
    reconciler_with(ConnectOptions {
        fence: fence.clone(),
        quotas,
        ..ConnectOptions::default()
    })
    .await
}

/// A replica that does not lead reads, but sends no write: each is refused just before it
/// would be sent, and the pass ends `Interrupted` saying why. Once it leads again, it converges.
#[tokio::test]
async fn a_replica_that_does_not_lead_sends_no_write() {
    let fence = WriteFence::elected();
    let reconciler = fenced(&fence, QuotaSettings::default()).await;
    let namespace = unique_namespace("fenced");
    let queue = secure_queue(&namespace, "");
    let report = converge(&reconciler, &queue).await;
    assert_eq!(condition(&report, "KeyReady"), ("False", "Interrupted"));
    let message = &report.conditions[0].message;
    assert!(
        message.contains("kms:CreateKey") && message.contains("leader Lease"),
        "{message}"
    );
    assert!(!report.needs_a_person());
    assert!(!requests_touching(&namespace).is_empty(), "it read");
    assert_eq!(writes_touching(&namespace), Vec::<String>::new());
    assert!(fence.refused() >= 1);

    fence.renewed(
        (std::time::Instant::now(), std::time::SystemTime::now()),
        Duration::from_secs(600),
    );
    assert_ready(&converge(&reconciler, &queue).await, "Created");
}

/// A pass that waits for its turn at a request budget while leadership runs out does not send
/// the write it waited for: the fence is checked when the request goes out, not when the pass
/// started. CreateKey is held to one a second; of three new SecureQueues whose leadership ends
/// after half a second, at most the first sends its CreateKey.
#[tokio::test]
async fn a_write_that_waited_for_its_turn_is_not_sent_after_leadership_ended() {
    let fence = WriteFence::elected();
    let quotas = QuotaSettings::new(1.0, [QuotaOverride::parse("kms:CreateKey=1").unwrap()]);
    let reconciler = fenced(&fence, quotas).await;
    let prefix = unique_namespace("fencedwait");
    fence.renewed(
        (std::time::Instant::now(), std::time::SystemTime::now()),
        Duration::from_millis(500),
    );
    let passes = (0..3).map(|i| {
        let reconciler = &reconciler;
        let queue = secure_queue(&format!("{prefix}-{i}"), "");
        async move { converge(reconciler, &queue).await }
    });
    let reports = futures::future::join_all(passes).await;
    let created = requests_touching(&prefix)
        .iter()
        .filter(|r| *r == "kms:CreateKey")
        .count();
    assert!(created <= 1, "{created} CreateKeys sent");
    assert!(fence.refused() >= 2, "{} refused", fence.refused());
    let interrupted = reports
        .iter()
        .filter(|r| condition(r, "KeyReady").1 == "Interrupted")
        .count();
    assert!(interrupted >= 2, "{reports:#?}");
}
