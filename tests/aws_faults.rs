//! AWS failures in the moto emulator, scripted through the launcher: access denied, throttling
//! and KMS refusing a key policy each become a condition naming the step, the AWS error code and
//! what to do, with nothing half-made.

mod emulator;

use emulator::*;

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
    assert!(report.needs_a_person);
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
    assert!(report.key_arn.is_some() && report.dead_letter_queue_url.is_some());
    assert_ready(&converge(&reconciler, &queue).await, "Created");
}

#[tokio::test]
async fn a_brief_throttle_is_retried_by_the_sdk() {
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
    assert!(!report.needs_a_person);
    assert!(keys_of(&kms, &namespace).await.is_empty());
    // Each pass spends four attempts of the ten faults; a later pass gets through.
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

/// Every call of a fresh converge that names the SecureQueue in its request (ListAliases and
/// ListKeys name nothing, so they cannot be aimed at one test's resources), failed with each
/// kind of AWS trouble until the SDK's retries give up: the pass reports it truthfully, never
/// Ready early, and once the faults stop the next pass converges with exactly one key.
#[tokio::test]
async fn every_step_failing_is_reported_then_converges_once_the_faults_stop() {
    let reconciler = reconciler().await;
    let (kms, _) = raw().await;
    let steps = [
        ("DescribeKey", "kms"),
        ("GetQueueUrl", "sqs"),
        ("CreateKey", "kms"),
        ("CreateAlias", "kms"),
        ("EnableKeyRotation", "kms"),
        ("CreateQueue", "sqs"),
    ];
    let troubles = [
        ("ThrottlingException", 400, "Throttled"),
        ("RequestThrottled", 400, "Throttled"),
        ("InternalFailure", 500, "AwsUnavailable"),
        ("ServiceUnavailable", 503, "AwsUnavailable"),
    ];
    let mut period = 1000;
    for (operation, service) in steps {
        for (code, status, reason) in troubles {
            if service == "kms" && code == "RequestThrottled" {
                continue;
            }
            let namespace = unique_namespace("fault");
            // A rotation period of its own marks this SecureQueue's EnableKeyRotation requests.
            period += 1;
            let queue = secure_queue(
                &namespace,
                &format!("  key: {{rotationPeriodDays: {period}}}\n"),
            );
            // Aim at one call: the dead-letter queue's lookup or creation (the main queue's come
            // after or beside it), the rotation by its period, the rest by the namespace.
            let aim = match operation {
                "GetQueueUrl" | "CreateQueue" => format!("{namespace}-q-dlq"),
                "EnableKeyRotation" => format!("\"RotationPeriodInDays\":{period}"),
                _ => namespace.clone(),
            };
            // Four attempts per call: this many faults outlast exactly one pass.
            inject_fault(operation, code, status, 4, &aim);
            let failed = converge(&reconciler, &queue).await;
            assert!(
                !failed.is_ready(),
                "{operation} {code}: Ready while failing"
            );
            assert!(
                failed
                    .conditions
                    .iter()
                    .any(|c| c.status == "False" && c.reason == reason),
                "{operation} {code}: {:#?}",
                failed.conditions
            );
            assert!(
                !failed.needs_a_person,
                "{operation} {code}: transient, yet Stalled"
            );
            let recovered = converge(&reconciler, &queue).await;
            assert!(recovered.is_ready(), "{operation} {code}: {recovered:#?}");
            assert_eq!(
                keys_of(&kms, &namespace).await.len(),
                1,
                "{operation} {code}"
            );
        }
    }
}
