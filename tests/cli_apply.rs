//! `securequeue apply` and `securequeue delete` as a pipeline runs them, against the emulator.

mod common;
mod emulator;

use common::OPERATOR_ROLE;
use std::process::Output;

use common::cli::text;
use emulator::*;

fn manifest(namespace: &str, extra: &str) -> String {
    format!(
        "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata:\n  name: q\n  namespace: {namespace}\nspec:\n  consumerRoleArns: [{CONSUMER_ROLE}]\n{extra}"
    )
}

fn apply_json(input: &str) -> (Output, serde_json::Value) {
    let out = securequeue_cli(
        &[
            "apply",
            "-f",
            "-",
            "-o",
            "json",
            "--operator-role-arn",
            OPERATOR_ROLE,
        ],
        input,
    );
    let reports = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, reports)
}

#[test]
fn apply_converges_and_prints_reports_then_costs_no_writes() {
    let namespace = unique_namespace("cli");
    let input = manifest(&namespace, "");
    let (out, reports) = apply_json(&input);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = &reports[0];
    assert_eq!(report["name"], format!("{namespace}/q"));
    assert_eq!(report["conditions"][3]["type"], "Ready");
    assert_eq!(report["conditions"][3]["reason"], "Created");
    assert!(
        report["keyArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:kms:us-east-1:111122223333:key/")
    );
    assert!(
        report["queueUrl"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{namespace}-q"))
    );

    let (again, reports) = apply_json(&input);
    assert!(again.status.success());
    assert_eq!(reports[0]["conditions"][3]["reason"], "Converged");
    let calls = reports[0]["calls"].as_object().unwrap();
    assert!(
        calls
            .keys()
            .all(|op| op.contains(":Get") || op.contains(":List") || op.contains(":Describe")),
        "{calls:?}"
    );
}

#[test]
fn one_invalid_document_stops_every_document_before_aws() {
    let good = unique_namespace("cli-good");
    let bad = unique_namespace("cli-bad");
    let input = format!(
        "{}---\n{}",
        manifest(&good, ""),
        manifest(&bad, "  queue: {visibilityTimeoutSeconds: -1}\n")
    );
    let (out, _) = apply_json(&input);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("spec.queue.visibilityTimeoutSeconds"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed in AWS"), "{stderr}");
    let exists = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async { queue_url(&raw().await.1, &format!("{good}-q")).await });
    assert!(
        exists.is_none(),
        "the valid document must not have been applied"
    );
}

#[test]
fn apply_exits_non_zero_when_a_resource_is_not_ready() {
    let owner = unique_namespace("cli-owner");
    let shared = unique_namespace("cli-shared");
    let (first, _) = apply_json(&manifest(&owner, &format!("  queueName: {shared}\n")));
    assert!(first.status.success());
    let other = unique_namespace("cli-other");
    let out = securequeue_cli(
        &["apply", "-f", "-", "--operator-role-arn", OPERATOR_ROLE],
        &manifest(&other, &format!("  queueName: {shared}\n")),
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("NameConflict"), "{stdout}");
    assert!(stdout.contains(&owner), "{stdout}");
}

#[test]
fn delete_honours_the_deletion_policy() {
    let namespace = unique_namespace("cli-delete");
    let input = manifest(&namespace, "  deletionPolicy: Delete\n");
    assert!(apply_json(&input).0.status.success());
    let out = securequeue_cli(
        &["delete", "-f", "-", "--operator-role-arn", OPERATOR_ROLE],
        &input,
    );
    assert!(out.status.success(), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("scheduled key"), "{stdout}");
    assert!(stdout.contains("deleted the queue"), "{stdout}");
}

#[test]
fn a_caller_that_is_not_a_role_needs_the_operator_role_flag() {
    // moto's STS says the credentials belong to an IAM user.
    let out = securequeue_cli(
        &["apply", "-f", "-"],
        &manifest(&unique_namespace("cli-who"), ""),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--operator-role-arn"), "{stderr}");
    assert!(stderr.contains("not an IAM role"), "{stderr}");
}

#[test]
fn apply_holds_a_manifest_to_the_status_it_carries() {
    let namespace = unique_namespace("cli-status");
    let (out, reports) = apply_json(&manifest(&namespace, "  region: us-east-1\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = &reports[0];
    let older_status = format!(
        "status:\n  keyArn: {}\n  queueArn: {}\n",
        report["keyArn"].as_str().unwrap(),
        report["queueArn"].as_str().unwrap()
    );
    let identity_status = format!(
        "status:\n  identity: {}\n",
        serde_json::to_string(&report["identity"]).unwrap()
    );
    for status in [older_status, identity_status] {
        // The manifest as `kubectl get -o yaml` shows it, its spec now naming another region.
        let moved = format!("{}{status}", manifest(&namespace, "  region: eu-west-1\n"));
        let (out, _) = apply_json(&moved);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("spec.region: the key and both queues are in `us-east-1`"),
            "{stderr}"
        );
        assert!(stderr.contains("nothing was changed in AWS"), "{stderr}");
    }
    let elsewhere = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let (kms, sqs) = raw_in("eu-west-1").await;
        (
            keys_of(&kms, &namespace).await,
            queue_url(&sqs, &format!("{namespace}-q")).await,
        )
    });
    assert_eq!(elsewhere, (Vec::new(), None));
}
