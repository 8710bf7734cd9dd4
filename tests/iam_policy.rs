//! The operator's IAM policy, together with the key and queue policies the operator writes,
//! allows exactly the AWS operations the adapters call (read from the source of `src/aws/`, so a
//! new SDK call without its permission fails here, not in production), judged by the evaluator
//! as AWS judges same-account requests; and it refuses the takeover of keys the operator did not
//! make.

use std::collections::BTreeSet;
use std::process::Command;

use regex::Regex;
use securequeue::evaluate::same_account::{ResourcePolicy, decide};
use securequeue::evaluate::{Effect, Principal, Request};
use securequeue::manifest;
use securequeue::plan;
use securequeue::policy::operator::{OperatorScope, actions, operator_policy};
use securequeue::resolve::{Environment, TAG_CLUSTER};
use serde_json::{Value, json};

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
        cluster_id: CLUSTER.into(),
        queue_name_prefix: String::new(),
    }
}

const CLUSTER: &str = "default";
const OPERATOR: &str = "arn:aws:iam::111122223333:role/securequeue-operator";
const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const FOREIGN_KEY: &str =
    "arn:aws:kms:eu-west-1:111122223333:key/0000ffff-12ab-34cd-56ef-1234567890ab";
const FOREIGN_ALIAS: &str = "arn:aws:kms:eu-west-1:111122223333:alias/team/payments";

/// The key policy and main queue policy the operator writes for an example SecureQueue.
fn own_policies() -> (Value, Value, String, String) {
    let text = std::fs::read_to_string("deploy/examples/sns-producer.yaml").unwrap();
    let queue = manifest::parse(&text).unwrap().remove(0).parsed.unwrap();
    let env = Environment {
        account_id: "111122223333".into(),
        region: None,
        operator_role_arn: OPERATOR.into(),
        cluster_id: CLUSTER.into(),
        allow_cross_account: false,
    };
    let plan = plan::build(&queue, &env).unwrap();
    let key = serde_json::to_value(&plan.key.policy).unwrap();
    let queue_policy = serde_json::from_str(&plan.queue.attributes["Policy"]).unwrap();
    (key, queue_policy, plan.key.alias_arn, plan.queue.arn)
}

/// The default key policy of a key made without one: the account's IAM policies decide.
fn default_key_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "Enable IAM User Permissions",
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "kms:*", "Resource": "*"}]})
}

/// A request of the operator, over TLS, carrying this cluster's tags where AWS would.
fn request(action: &str, resource: &str) -> Request {
    Request::new(Principal::Aws(OPERATOR.into()), action, resource)
        .with("aws:SecureTransport", "true")
        .with("aws:PrincipalArn", OPERATOR)
        .with(&format!("aws:RequestTag/{TAG_CLUSTER}"), CLUSTER)
        .with(&format!("aws:ResourceTag/{TAG_CLUSTER}"), CLUSTER)
}

fn allowed(identity: &Value, resource: ResourcePolicy<'_>, request: &Request) -> bool {
    decide(identity, resource, request).unwrap().effect == Effect::Allowed
}

#[test]
fn the_operator_may_make_every_call_the_code_makes_on_its_own_resources() {
    let code = operations_in_code();
    assert!(code.len() > 20, "the scan found too little: {code:?}");
    assert!(code.contains("kms:CreateKey") && code.contains("sqs:GetQueueUrl"));
    let iam = operator_policy(&scope());
    let (key_policy, queue_policy, alias, queue) = own_policies();
    for operation in &code {
        // What AWS authorizes for the call: the resources, each with its own resource policy.
        let checks: Vec<(&str, ResourcePolicy<'_>)> = match operation.as_str() {
            "kms:CreateKey" | "kms:ListKeys" | "kms:ListAliases" | "sts:GetCallerIdentity" => {
                vec![("*", ResourcePolicy::None)]
            }
            "kms:CreateAlias" | "kms:UpdateAlias" | "kms:DeleteAlias" => vec![
                (alias.as_str(), ResourcePolicy::None),
                (KEY, ResourcePolicy::Key(&key_policy)),
            ],
            op if op.starts_with("kms:") => vec![(KEY, ResourcePolicy::Key(&key_policy))],
            _ => vec![(queue.as_str(), ResourcePolicy::Queue(Some(&queue_policy)))],
        };
        for (resource, policy) in checks {
            assert!(
                allowed(&iam, policy, &request(operation, resource)),
                "the operator may not {operation} on {resource}"
            );
        }
    }
    let unused: Vec<_> = actions(&iam)
        .into_iter()
        .filter(|a| !code.contains(a))
        .collect();
    assert!(unused.is_empty(), "allowed but never called: {unused:?}");
}

#[test]
fn tagging_a_foreign_key_then_changing_its_policy_is_refused() {
    let iam = operator_policy(&scope());
    let foreign = default_key_policy();
    // Step one of the attack: put this cluster's tag on a key the operator did not make.
    let tag =
        request("kms:TagResource", FOREIGN_KEY).without(&format!("aws:ResourceTag/{TAG_CLUSTER}"));
    assert!(!allowed(&iam, ResourcePolicy::Key(&foreign), &tag));
    // Step two, as if the tag had been put there: nothing the tag could unlock is granted.
    for action in [
        "kms:PutKeyPolicy",
        "kms:ScheduleKeyDeletion",
        "kms:DisableKey",
        "kms:UpdateKeyDescription",
        "kms:CreateGrant",
        "kms:Decrypt",
        "kms:UntagResource",
    ] {
        assert!(
            !allowed(
                &iam,
                ResourcePolicy::Key(&foreign),
                &request(action, FOREIGN_KEY)
            ),
            "{action} on a foreign key tagged for this cluster"
        );
    }
}

#[test]
fn a_foreign_alias_can_be_neither_moved_nor_deleted() {
    let iam = operator_policy(&scope());
    let foreign = default_key_policy();
    for action in ["kms:UpdateAlias", "kms:DeleteAlias"] {
        // The alias's side is granted; the key it names refuses.
        let both = allowed(&iam, ResourcePolicy::None, &request(action, FOREIGN_ALIAS))
            && allowed(
                &iam,
                ResourcePolicy::Key(&foreign),
                &request(action, FOREIGN_KEY),
            );
        assert!(!both, "{action} on a foreign alias");
    }
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
