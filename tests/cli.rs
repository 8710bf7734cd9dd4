//! The `securequeue` binary as a user runs it. Hostile and odd input has its own catalogue,
//! `tests/hostile_input/`.

mod common;

use std::process::Output;

use common::OPERATOR_ROLE;
use common::cli::{self, text};

fn plan(files: &[&str], extra: &[&str], stdin: Option<&str>) -> Output {
    let mut args = vec![
        "plan",
        "--operator-role-arn",
        OPERATOR_ROLE,
        "--region",
        "eu-west-1",
    ];
    for file in files {
        args.extend(["-f", file]);
    }
    args.extend(extra);
    cli::in_repository(&args, stdin)
}

#[test]
fn plan_of_one_manifest_prints_one_object() {
    let out = plan(&["deploy/examples/sns-producer.yaml"], &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["name"], "shop/orders");
    assert_eq!(plan["queue"]["name"], "shop-orders");
    assert_eq!(plan["steps"].as_array().unwrap().len(), 11);
    assert!(plan["kms"]["estimatedRequestsPer30Days"].as_u64().unwrap() > 0);
}

#[test]
fn plan_of_several_manifests_prints_an_array() {
    let out = plan(
        &[
            "deploy/examples/sns-producer.yaml",
            "deploy/examples/fifo.yaml",
        ],
        &[],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plans: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[1]["queue"]["name"], "finance-ledger.fifo");
    assert_eq!(
        plans[1]["deadLetterQueue"]["name"],
        "finance-ledger-dlq.fifo"
    );
}

#[test]
fn plan_reads_multi_document_yaml_from_stdin_and_prints_yaml() {
    let a = std::fs::read_to_string(common::repo_path("deploy/examples/s3-producer.yaml")).unwrap();
    let b = std::fs::read_to_string(common::repo_path(
        "deploy/examples/eventbridge-producer.yaml",
    ))
    .unwrap();
    let out = plan(&["-"], &["-o", "yaml"], Some(&format!("{a}---\n{b}")));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plans: Vec<serde_json::Value> = serde_saphyr::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(plans.len(), 2);
}

#[test]
fn invalid_documents_are_reported_per_field_and_not_printed() {
    let good =
        std::fs::read_to_string(common::repo_path("deploy/examples/sns-producer.yaml")).unwrap();
    let bad = good
        .replace("name: orders", "name: broken")
        .replace("role/orders-worker", "user/alice")
        .replace(
            "arn:aws:sns:eu-west-1:111122223333:orders-events",
            "arn:aws:sns:eu-west-1:444455556666:other",
        );
    let out = plan(&["-"], &[], Some(&format!("{good}---\n{bad}")));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("-: document 2 (shop/broken): spec.consumerRoleArns[0]: "),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("-: document 2 (shop/broken): spec.producers.snsTopicArns[0]: "),
        "{stderr}"
    );
    let plans: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plans.len(), 1, "only the valid document is printed");
    assert_eq!(plans[0]["name"], "shop/orders");
}

#[test]
fn a_single_invalid_document_prints_nothing() {
    let out = plan(
        &["-"],
        &[],
        Some(
            "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata: {name: x}\nspec: {consumerRoleArns: []}\n",
        ),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("spec.consumerRoleArns: at least one consumer"));
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let out = plan(&["does/not/exist.yaml"], &[], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("does/not/exist.yaml: cannot read"));
}

#[test]
fn a_malformed_operator_role_names_the_flag() {
    let out = cli::in_repository(
        &[
            "plan",
            "-f",
            "deploy/examples/fifo.yaml",
            "--operator-role-arn",
            "arn:aws:iam::111122223333:user/me",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--operator-role-arn: `arn:aws:iam::111122223333:user/me` is an IAM user"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one problem, one line: {stderr}");
}

#[test]
fn account_id_must_match_the_operator_role() {
    let out = plan(
        &["deploy/examples/fifo.yaml"],
        &["--account-id", "444455556666"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--operator-role-arn"));
}

#[test]
fn a_malformed_account_id_names_the_flag() {
    let out = plan(
        &["deploy/examples/fifo.yaml"],
        &["--account-id", "12345"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--account-id: `12345` is not a 12-digit account id"));
}

#[test]
fn cross_account_principals_need_the_flag() {
    let manifest = "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata: {name: x, namespace: team}\nspec: {consumerRoleArns: ['arn:aws:iam::444455556666:role/w']}\n";
    assert_eq!(plan(&["-"], &[], Some(manifest)).status.code(), Some(1));
    let out = plan(&["-"], &["--allow-cross-account"], Some(manifest));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn crd_prints_the_committed_crd() {
    let out = cli::in_repository(&["crd"], None);
    assert!(out.status.success());
    let committed =
        std::fs::read_to_string(common::repo_path("crds/securequeue.io_securequeues.yaml"))
            .unwrap();
    assert_eq!(text(&out.stdout), committed);
}

#[test]
fn verify_proves_every_example_and_explain_names_the_deciding_statements() {
    for example in [
        "deploy/examples/sns-producer.yaml",
        "deploy/examples/organization.yaml",
    ] {
        let out = cli::in_repository(
            &[
                "verify",
                "-f",
                example,
                "--operator-role-arn",
                OPERATOR_ROLE,
                "--region",
                "eu-west-1",
            ],
            None,
        );
        assert!(
            out.status.success(),
            "{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(!text(&out.stdout).contains("FAIL"));
        assert!(text(&out.stdout).contains("checks hold"));
    }
    let out = cli::in_repository(
        &[
            "explain",
            "-f",
            "deploy/examples/sns-producer.yaml",
            "--operator-role-arn",
            OPERATOR_ROLE,
            "--principal",
            "arn:aws:iam::111122223333:role/orders-worker",
            "--action",
            "sqs:ReceiveMessage",
            "--no-tls",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("ExplicitDeny"), "{stdout}");
    assert!(
        stdout.contains("denied by: DenyUnsecureTransport"),
        "{stdout}"
    );
}

/// `verify`'s tables as one document on standard output, in each document format and for
/// both tables; the summaries go to standard error.
#[test]
fn verify_prints_one_document_of_every_table() {
    let example = "deploy/examples/sns-producer.yaml";
    for table in [&[][..], &["--operator", "--account-id", "111122223333"][..]] {
        for format in ["json", "yaml"] {
            let mut args = vec!["verify", "-f", example, "-o", format];
            args.extend([
                "--operator-role-arn",
                OPERATOR_ROLE,
                "--region",
                "eu-west-1",
            ]);
            args.extend(table);
            let out = cli::in_repository(&args, None);
            let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
            assert!(out.status.success(), "{stdout}{stderr}");
            let parsed = match format {
                "json" => serde_json::from_str(&stdout).map_err(|e| e.to_string()),
                _ => serde_saphyr::from_str(&stdout).map_err(|e| e.to_string()),
            };
            let document: serde_json::Value = parsed.unwrap_or_else(|e| {
                panic!("verify -o {format} printed no {format} document ({e}):\n{stdout}")
            });
            let checked = document.as_array().expect("a list of tables");
            assert_eq!(checked.len(), 1, "{stdout}");
            let source = checked[0]["source"].as_str().expect("a source");
            assert!(source.starts_with(example), "{stdout}");
            assert_eq!(checked[0]["holds"], true);
            assert!(!checked[0]["rows"].as_array().unwrap().is_empty());
            assert!(
                stderr.contains("hold"),
                "the summary is on stderr: {stderr}"
            );
        }
    }
}

#[test]
fn plan_holds_a_manifest_to_its_status_and_keeps_the_recorded_region() {
    let manifest = |spec: &str| {
        format!(
            "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata: {{name: orders, namespace: shop}}\nspec:\n  consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n{spec}status:\n  queueArn: arn:aws:sqs:us-east-1:111122223333:shop-orders\n"
        )
    };
    // The operator's region is eu-west-1; the status says the queues are in us-east-1.
    let kept = plan(&["-"], &[], Some(&manifest("")));
    assert!(kept.status.success(), "{}", text(&kept.stderr));
    let kept: serde_json::Value = serde_json::from_slice(&kept.stdout).unwrap();
    assert_eq!(kept["region"], "us-east-1");
    let moved = plan(&["-"], &[], Some(&manifest("  region: eu-west-1\n")));
    assert_eq!(moved.status.code(), Some(1));
    let stderr = text(&moved.stderr);
    assert!(
        stderr.contains("spec.region: the key and both queues are in `us-east-1`"),
        "{stderr}"
    );
}

#[test]
fn plan_and_verify_refuse_what_the_controllers_guardrails_refuse() {
    let guardrail = ["--required-organization-id", "o-abc123defg"];
    let out = plan(&["deploy/examples/sns-producer.yaml"], &guardrail, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("spec.organizationId") && stderr.contains("guardrail"),
        "{stderr}"
    );
    let mut args = vec![
        "verify",
        "--operator-role-arn",
        OPERATOR_ROLE,
        "--region",
        "eu-west-1",
    ];
    args.extend(["-f", "deploy/examples/sns-producer.yaml"]);
    args.extend(guardrail);
    let out = cli::in_repository(&args, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("spec.organizationId"));
}

#[test]
fn plan_adds_the_queue_name_prefix_the_controller_adds() {
    let prefix = ["--queue-name-prefix", "team-"];
    let out = plan(&["deploy/examples/sns-producer.yaml"], &prefix, None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["queue"]["name"], "team-shop-orders");
}
