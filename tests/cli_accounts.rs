//! `--accounts FILE` and `iam-policy --trusted-principal`, as a pipeline runs them: the same
//! bindings as the controller, namespaces matched by name.

mod common;

use common::OPERATOR_ROLE;
use common::cli::{self, text};

const ACCOUNTS: &str = "deploy/accounts/accounts.yaml";

fn queue(namespace: &str, account: &str, extra: &str) -> String {
    format!(
        "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata:\n  name: orders\n  namespace: {namespace}\nspec:\n  region: eu-west-1\n  accountId: \"{account}\"\n  consumerRoleArns: [arn:aws:iam::{account}:role/consumer]\n{extra}"
    )
}

fn run(args: &[&str], stdin: &str) -> std::process::Output {
    cli::in_repository(args, Some(stdin))
}

fn plan(stdin: &str) -> std::process::Output {
    run(
        &[
            "plan",
            "--operator-role-arn",
            OPERATOR_ROLE,
            "--accounts",
            ACCOUNTS,
            "-f",
            "-",
        ],
        stdin,
    )
}

#[test]
fn a_bound_namespace_is_planned_in_its_account_as_the_bound_role() {
    let out = plan(&queue(
        "payments",
        "222233334444",
        "  organizationId: o-abcdefghij\n",
    ));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let key_policy = plan["key"]["policy"].to_string();
    assert!(
        key_policy.contains("arn:aws:iam::222233334444:role/securequeue-target"),
        "{key_policy}"
    );
    assert!(!key_policy.contains(OPERATOR_ROLE), "{key_policy}");
    assert!(
        plan["queue"]["arn"]
            .as_str()
            .unwrap()
            .contains(":222233334444:"),
        "{plan}"
    );
}

#[test]
fn the_bindings_guardrails_hold_in_a_pipeline() {
    let out = plan(&queue("payments", "222233334444", ""));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("spec.organizationId"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_unbound_namespace_or_a_selector_only_binding_is_refused_naming_the_field() {
    // search-prod binds `search` by name and other namespaces by label: a file has no labels.
    for (namespace, account) in [("shop", "222233334444"), ("catalog", "333344445555")] {
        let out = plan(&queue(namespace, account, ""));
        assert_eq!(out.status.code(), Some(1), "{namespace}");
        let errors = text(&out.stderr);
        assert!(
            errors.contains("spec.accountId") && errors.contains("not bound"),
            "{errors}"
        );
        assert!(out.stdout.is_empty());
    }
    let out = plan(&queue("search", "333344445555", ""));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn an_invalid_bindings_file_is_an_error_naming_the_document_and_field() {
    let dir = std::env::temp_dir().join(format!("sq-accounts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("accounts.yaml");
    std::fs::write(
        &file,
        "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueueAccount\nmetadata: {name: x}\nspec:\n  accountId: \"222233334444\"\n  roleArn: arn:aws:iam::999999999999:role/elsewhere\n",
    )
    .unwrap();
    let out = run(
        &[
            "plan",
            "--operator-role-arn",
            OPERATOR_ROLE,
            "--accounts",
            file.to_str().unwrap(),
            "-f",
            "-",
        ],
        &queue("payments", "222233334444", ""),
    );
    assert_eq!(out.status.code(), Some(2));
    let errors = text(&out.stderr);
    assert!(
        errors.contains("SecureQueueAccount x: spec.roleArn"),
        "{errors}"
    );
}

#[test]
fn iam_policy_prints_the_target_roles_permissions_and_a_trust_policy_of_the_operators_role_alone() {
    let out = run(
        &[
            "iam-policy",
            "--account-id",
            "222233334444",
            "--trusted-principal",
            OPERATOR_ROLE,
            "--external-id",
            "securequeue-cluster-prod",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let permissions = printed["permissionsPolicy"].to_string();
    assert!(
        permissions.contains("arn:aws:kms:*:222233334444:key/*"),
        "{permissions}"
    );
    let trust = &printed["trustPolicy"]["Statement"][0];
    assert_eq!(trust["Principal"]["AWS"], OPERATOR_ROLE);
    assert_eq!(trust["Action"], "sts:AssumeRole");
    assert_eq!(
        trust["Condition"]["StringEquals"]["sts:ExternalId"],
        "securequeue-cluster-prod"
    );
    assert_eq!(
        trust["Condition"]["ArnEquals"]["aws:PrincipalArn"],
        OPERATOR_ROLE
    );

    let refused = run(
        &[
            "iam-policy",
            "--account-id",
            "222233334444",
            "--trusted-principal",
            "arn:aws:iam::222233334444:role/x",
        ],
        "",
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("--trusted-principal"));
}

#[test]
fn iam_policy_lets_the_operators_own_role_assume_the_bound_roles_alone() {
    let bound = "arn:aws:iam::222233334444:role/securequeue-target";
    let out = run(
        &[
            "iam-policy",
            "--account-id",
            "111122223333",
            "--assumable-role-arn",
            bound,
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let policy: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let assume: Vec<&serde_json::Value> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Action"].to_string().contains("sts:AssumeRole"))
        .collect();
    assert_eq!(assume.len(), 1, "{policy}");
    assert_eq!(assume[0]["Resource"], bound);

    let own = run(
        &[
            "iam-policy",
            "--account-id",
            "111122223333",
            "--assumable-role-arn",
            OPERATOR_ROLE,
        ],
        "",
    );
    assert_eq!(own.status.code(), Some(2));
    assert!(text(&own.stderr).contains("--assumable-role-arn"));
}
