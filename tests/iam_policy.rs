//! The operator's IAM policy allows exactly the AWS operations the adapters call: read from the
//! source of `src/aws/`, so a new SDK call without its permission fails here, not in production.

use std::collections::BTreeSet;
use std::process::Command;

use regex::Regex;
use securequeue::policy::operator::{OperatorScope, actions, operator_policy};

/// `service:Operation` for every SDK call in the adapters, found as
/// `self.client.paced().await.<call>()` or `sts.<call>()`, and turned from snake_case into the
/// API's name.
fn operations_in_code() -> BTreeSet<String> {
    let call =
        Regex::new(r"(?:self\s*\.\s*client\s*\.\s*paced\(\)\s*\.await|sts)\s*\.\s*([a-z_]+)\(\)")
            .unwrap();
    let mut found = BTreeSet::new();
    for (file, service) in [
        ("src/aws/kms.rs", "kms"),
        ("src/aws/sqs.rs", "sqs"),
        ("src/aws/identity.rs", "sts"),
    ] {
        let text = std::fs::read_to_string(file).unwrap();
        for capture in call.captures_iter(&text) {
            let operation: String = capture[1]
                .split('_')
                .map(|word| {
                    let mut chars = word.chars();
                    chars
                        .next()
                        .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                        .unwrap_or_default()
                })
                .collect();
            found.insert(format!("{service}:{operation}"));
        }
    }
    found
}

fn scope() -> OperatorScope {
    OperatorScope {
        partition: "aws".into(),
        account_id: "111122223333".into(),
        cluster_id: "default".into(),
        queue_name_prefix: String::new(),
    }
}

#[test]
fn the_policy_allows_every_operation_the_code_calls_and_no_other() {
    let code = operations_in_code();
    assert!(code.len() > 20, "the scan found too little: {code:?}");
    assert!(code.contains("kms:CreateKey") && code.contains("sqs:GetQueueUrl"));
    let allowed: BTreeSet<String> = actions(&operator_policy(&scope())).into_iter().collect();
    let missing: Vec<_> = code.difference(&allowed).collect();
    let unused: Vec<_> = allowed.difference(&code).collect();
    assert!(missing.is_empty(), "called but not allowed: {missing:?}");
    assert!(unused.is_empty(), "allowed but never called: {unused:?}");
}

#[test]
fn the_shipped_policy_is_the_generated_one() {
    let out = Command::new(env!("CARGO_BIN_EXE_securequeue"))
        .args(["iam-policy", "--account-id", "111122223333"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let shipped = std::fs::read_to_string("deploy/iam/operator-policy.json").unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        shipped,
        "deploy/iam/operator-policy.json is stale: run `cargo run -- iam-policy --account-id 111122223333 > deploy/iam/operator-policy.json`"
    );
}

#[test]
fn bad_flags_are_refused_naming_the_flag() {
    let out = Command::new(env!("CARGO_BIN_EXE_securequeue"))
        .args(["iam-policy", "--account-id", "12"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--account-id"));
}
