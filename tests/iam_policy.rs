//! The operator's IAM policy, together with the key and queue policies the operator writes,
//! allows exactly the AWS operations the adapters call (read from the source of `src/aws/`, so a
//! new SDK call without its permission fails here, not in production), judged by the evaluator
//! as AWS judges same-account requests; and it refuses the takeover of keys and queues the
//! operator did not make (the containment table, and the attacks step by step).

mod common;

use std::collections::BTreeSet;

use common::cli::{self, text};
use common::{OPERATOR_ROLE, repo_path};
use regex::Regex;
use securequeue::evaluate::containment::{
    ACCOUNT_OPERATIONS, ALIAS_OPERATIONS, FOREIGN_KEY_ATTACKS, FOREIGN_QUEUE_ATTACKS,
    KEY_OPERATIONS, QUEUE_OPERATIONS, Row, create_key_request, table,
};
use securequeue::iam::same_account::{ResourcePolicy, decide};
use securequeue::iam::{Effect, Principal, Request};
use securequeue::manifest;
use securequeue::plan::{self, Plan};
use securequeue::policy::operator::{OperatorScope, actions, operator_policy};
use securequeue::resolve::{Environment, Resolved, TAG_CLUSTER};
use serde_json::{Value, json};

/// `service:Operation` for every SDK call in the adapters, found as the operation a KMS or SQS
/// adapter names to its sender (`self.kms.read("GetKeyPolicy", ...)`, `.write`, `.look_up`), or
/// as `sts.<call>()` turned from snake_case into the API's name.
fn operations_in_code() -> BTreeSet<String> {
    // The adapters send each request through their sender, naming the operation.
    let paced = Regex::new(r#"\.(?:read|write|look_up)\(\s*"([A-Za-z]+)""#).unwrap();
    let sts = Regex::new(r"sts\s*\.\s*([a-z_]+)\(\)").unwrap();
    let mut found = BTreeSet::new();
    for (file, service) in [("src/aws/kms.rs", "kms"), ("src/aws/sqs.rs", "sqs")] {
        let text = std::fs::read_to_string(repo_path(file)).unwrap();
        for capture in paced.captures_iter(&text) {
            found.insert(format!("{service}:{}", &capture[1]));
        }
    }
    let text = std::fs::read_to_string(repo_path("src/aws/caller.rs")).unwrap();
    for capture in sts.captures_iter(&text) {
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
        found.insert(format!("sts:{operation}"));
    }
    found
}

fn scope() -> OperatorScope {
    OperatorScope {
        partition: "aws".into(),
        account_id: "111122223333".into(),
        queue_name_prefix: String::new(),
        key_alias_prefix: "alias/securequeue/".into(),
    }
}

const CLUSTER: &str = "default";
const FOREIGN_KEY: &str =
    "arn:aws:kms:eu-west-1:111122223333:key/0000ffff-12ab-34cd-56ef-1234567890ab";
const FOREIGN_QUEUE: &str = "arn:aws:sqs:eu-west-1:111122223333:payments";

/// The plan of an example SecureQueue (its path in the repository), as the operator makes it.
fn example(file: &str) -> (Resolved, Plan) {
    let text = std::fs::read_to_string(repo_path(file)).unwrap();
    let queue = manifest::parse(&text).unwrap().remove(0).parsed.unwrap();
    let env = Environment {
        region: None,
        cluster_id: CLUSTER.into(),
        ..common::env()
    };
    plan::build_resolved(&queue, &env).unwrap()
}

/// The example manifests, by their paths in the repository.
fn examples() -> Vec<String> {
    let files: Vec<String> = common::examples::all()
        .into_iter()
        .map(|example| format!("deploy/examples/{}", example.name))
        .collect();
    assert!(files.len() >= 5, "{files:?}");
    files
}

/// The default key policy of a key made without one: the account's IAM policies decide.
fn default_key_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "Enable IAM User Permissions",
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "kms:*", "Resource": "*"}]})
}

/// A request of the operator over TLS, carrying this cluster's tag as a request tag and, when
/// `tagged`, as the resource's tag: the second step of an attack, as if the first had worked.
fn request(action: &str, resource: &str, tagged: bool) -> Request {
    let request = Request::new(Principal::Aws(OPERATOR_ROLE.into()), action, resource)
        .with("aws:SecureTransport", "true")
        .with("aws:PrincipalArn", OPERATOR_ROLE)
        .with(&format!("aws:RequestTag/{TAG_CLUSTER}"), CLUSTER);
    if tagged {
        request.with(&format!("aws:ResourceTag/{TAG_CLUSTER}"), CLUSTER)
    } else {
        request
    }
}

fn allowed(identity: &Value, resource: ResourcePolicy<'_>, request: &Request) -> bool {
    decide(identity, resource, request).unwrap().effect == Effect::Allowed
}

fn failing(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .filter(|r| !r.holds)
        .map(|r| format!("{:?} {:?} {}", r.owner, r.resource, r.action))
        .collect()
}

#[test]
fn the_containment_tables_operations_are_the_calls_the_code_makes() {
    let code = operations_in_code();
    assert!(code.len() > 20, "the scan found too little: {code:?}");
    let table: BTreeSet<String> = ACCOUNT_OPERATIONS
        .iter()
        .chain(&KEY_OPERATIONS)
        .chain(&ALIAS_OPERATIONS)
        .chain(&QUEUE_OPERATIONS)
        .map(|s| s.to_string())
        .collect();
    assert_eq!(code, table);
}

#[test]
fn the_containment_table_holds_for_every_example() {
    let iam = operator_policy(&scope());
    for file in examples() {
        let (resolved, plan) = example(&file);
        let rows = table(&iam, &plan, &resolved).unwrap();
        assert_eq!(rows.len(), 92, "{file}");
        assert_eq!(failing(&rows), Vec::<String>::new(), "{file}");
    }
}

#[test]
fn the_operators_iam_policy_allows_nothing_the_code_does_not_call() {
    let code = operations_in_code();
    let unused: Vec<_> = actions(&operator_policy(&scope()))
        .into_iter()
        .filter(|a| !code.contains(a))
        .collect();
    assert!(unused.is_empty(), "allowed but never called: {unused:?}");
}

#[test]
fn the_containment_table_catches_the_tag_based_grants_it_replaced() {
    // The policy before containment: tag on create, and change whatever carries the tag.
    let mut iam = operator_policy(&scope());
    let on_tag = |action: &[&str], resource: &str, key: &str| {
        json!({"Effect": "Allow", "Action": action, "Resource": resource,
            "Condition": {"StringEquals": {format!("{key}/{TAG_CLUSTER}"): CLUSTER}}})
    };
    let statements = iam["Statement"].as_array_mut().unwrap();
    statements.push(on_tag(&["kms:TagResource"], "*", "aws:RequestTag"));
    statements.push(on_tag(
        &["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"],
        "*",
        "aws:ResourceTag",
    ));
    statements.push(on_tag(
        &["sqs:TagQueue"],
        "arn:aws:sqs:*:111122223333:*",
        "aws:RequestTag",
    ));
    statements.push(on_tag(
        &["sqs:SetQueueAttributes", "sqs:DeleteQueue"],
        "arn:aws:sqs:*:111122223333:*",
        "aws:ResourceTag",
    ));
    let (resolved, plan) = example("deploy/examples/sns-producer.yaml");
    let failed = failing(&table(&iam, &plan, &resolved).unwrap());
    for row in [
        "Untagged Key kms:TagResource",
        "OtherCluster Key kms:TagResource",
        "TaggedForThisCluster Key kms:PutKeyPolicy",
        "TaggedForThisCluster Key kms:ScheduleKeyDeletion",
        "Untagged Queue sqs:TagQueue",
        "TaggedForThisCluster Queue sqs:SetQueueAttributes",
        "TaggedForThisCluster Queue sqs:DeleteQueue",
    ] {
        assert!(
            failed.contains(&row.to_string()),
            "{row} not caught: {failed:?}"
        );
    }
}

#[test]
fn only_the_kind_of_key_the_operator_makes_can_be_created() {
    let iam = operator_policy(&scope());
    let create = || {
        create_key_request(Request::new(
            Principal::Aws(OPERATOR_ROLE.into()),
            "kms:CreateKey",
            "*",
        ))
    };
    assert!(allowed(&iam, ResourcePolicy::None, &create()));
    for (key, value) in [
        ("kms:MultiRegion", "true"),
        ("kms:KeySpec", "RSA_4096"),
        ("kms:KeyUsage", "SIGN_VERIFY"),
        ("kms:KeyOrigin", "EXTERNAL"),
        ("kms:BypassPolicyLockoutSafetyCheck", "true"),
    ] {
        let other = create().without(key).with(key, value);
        assert!(
            !allowed(&iam, ResourcePolicy::None, &other),
            "CreateKey with {key}={value}"
        );
    }
    // A request without the safety check's parameter keeps it, so it is not needed.
    let plain = create().without("kms:BypassPolicyLockoutSafetyCheck");
    assert!(allowed(&iam, ResourcePolicy::None, &plain));
}

#[test]
fn aliases_are_created_moved_and_deleted_only_under_the_alias_prefix() {
    let iam = operator_policy(&scope());
    let inside = "arn:aws:kms:eu-west-1:111122223333:alias/securequeue/shop/orders";
    let outside = "arn:aws:kms:eu-west-1:111122223333:alias/team/payments";
    for action in ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"] {
        assert!(allowed(
            &iam,
            ResourcePolicy::None,
            &request(action, inside, false)
        ));
        assert!(
            !allowed(&iam, ResourcePolicy::None, &request(action, outside, false)),
            "{action} on {outside}"
        );
    }
}

#[test]
fn tagging_a_foreign_key_then_changing_its_policy_is_refused() {
    let iam = operator_policy(&scope());
    let foreign = default_key_policy();
    // Step one of the attack: put this cluster's tag on a key the operator did not make.
    let tag = request("kms:TagResource", FOREIGN_KEY, false);
    assert!(!allowed(&iam, ResourcePolicy::Key(&foreign), &tag));
    // Step two, as if the tag had been put there: nothing the tag could unlock is granted.
    for action in FOREIGN_KEY_ATTACKS {
        let change = request(action, FOREIGN_KEY, true);
        assert!(
            !allowed(&iam, ResourcePolicy::Key(&foreign), &change),
            "{action} on a foreign key tagged for this cluster"
        );
    }
}

#[test]
fn tagging_a_foreign_queue_then_setting_its_policy_is_refused() {
    let iam = operator_policy(&scope());
    // Step one: put this cluster's tag on a queue the operator did not make (it has no policy).
    let tag = request("sqs:TagQueue", FOREIGN_QUEUE, false);
    assert!(!allowed(&iam, ResourcePolicy::Queue(None), &tag));
    // Step two, as if the tag were there: a new queue policy, or anything else, is refused.
    for action in FOREIGN_QUEUE_ATTACKS {
        let change = request(action, FOREIGN_QUEUE, true);
        assert!(
            !allowed(&iam, ResourcePolicy::Queue(None), &change),
            "{action} on a foreign queue tagged for this cluster"
        );
    }
}

#[test]
fn a_queue_policy_of_ours_grants_the_operator_that_queue_alone() {
    let iam = operator_policy(&scope());
    let (_, plan) = example("deploy/examples/sns-producer.yaml");
    let policy = plan.queue.attributes.policy.to_value();
    let own = request("sqs:SetQueueAttributes", &plan.queue.arn, false);
    assert!(allowed(&iam, ResourcePolicy::Queue(Some(&policy)), &own));
    // The same policy, evaluated for another queue (its statements name our queue's ARN only).
    let other = request("sqs:SetQueueAttributes", FOREIGN_QUEUE, false);
    assert!(!allowed(&iam, ResourcePolicy::Queue(Some(&policy)), &other));
}

fn verify_operator(extra: &[&str]) -> (bool, String) {
    let out = cli::output(
        cli::command(&[
            "verify",
            "--operator",
            "--account-id",
            "111122223333",
            "--operator-role-arn",
            OPERATOR_ROLE,
        ])
        .args(extra),
        None,
    );
    (out.status.success(), text(&out.stdout) + &text(&out.stderr))
}

#[test]
fn verify_operator_holds_for_the_generated_policy() {
    let (ok, out) = verify_operator(&[]);
    assert!(ok, "{out}");
    assert!(out.contains("containment: 92 of 92 rows hold"), "{out}");
    assert!(!out.contains("FAIL"));
}

/// The probe that stands for every SecureQueue keeps to the guardrails, so a required
/// organization does not make the check refuse its own probe.
#[test]
fn verify_operator_holds_under_every_guardrail() {
    let (ok, out) = verify_operator(&[
        "--required-organization-id",
        "o-abc123defg",
        "--queue-name-prefix",
        "team-",
        "--key-alias-prefix",
        "alias/team-a/",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("containment: 92 of 92 rows hold"), "{out}");
}

#[test]
fn verify_operator_fails_on_an_attached_policy_that_lets_a_tag_unlock_a_queue() {
    let mut loose = operator_policy(&scope());
    loose["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "ChangeOnlyThisClustersQueues", "Effect": "Allow",
        "Action": ["sqs:SetQueueAttributes", "sqs:DeleteQueue"],
        "Resource": "arn:aws:sqs:*:111122223333:*",
        "Condition": {"StringEquals": {format!("aws:ResourceTag/{TAG_CLUSTER}"): CLUSTER}}}));
    let file = std::env::temp_dir().join(format!("loose-policy-{}.json", std::process::id()));
    std::fs::write(&file, loose.to_string()).unwrap();
    let (ok, out) = verify_operator(&["--iam-policy", file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    assert!(!ok, "{out}");
    assert!(out.contains("containment: 90 of 92 rows hold"), "{out}");
    assert_eq!(out.matches("FAIL").count(), 2, "{out}");
    let (ok, out) = verify_operator(&["--iam-policy", "/nonexistent/policy.json"]);
    assert!(
        !ok && out.contains("--iam-policy: ") && out.contains(" cannot read: "),
        "{out}"
    );
}

#[test]
fn the_shipped_policy_is_the_generated_one() {
    let out = cli::output(
        cli::command(&["iam-policy", "--account-id", "111122223333"])
            .args(["--key-alias-prefix", "alias/securequeue/"]),
        None,
    );
    assert!(out.status.success());
    let shipped = std::fs::read_to_string(repo_path("deploy/iam/operator-policy.json")).unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        shipped,
        "deploy/iam/operator-policy.json is stale: run `cargo run -- iam-policy --account-id 111122223333 --key-alias-prefix alias/securequeue/ > deploy/iam/operator-policy.json`"
    );
}

#[test]
fn bad_flags_are_refused_naming_the_flag() {
    for (args, flag) in [
        (&["--account-id", "12"][..], "--account-id"),
        (
            &[
                "--account-id",
                "111122223333",
                "--key-alias-prefix",
                "alias/aws/",
            ][..],
            "--key-alias-prefix",
        ),
    ] {
        let out = cli::output(cli::command(&["iam-policy"]).args(args), None);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains(flag), "{args:?}");
    }
    let (ok, out) = verify_operator(&["--key-alias-prefix", "keys/"]);
    assert!(
        !ok && out.contains("--key-alias-prefix") && out.contains("must start with `alias/`"),
        "{out}"
    );
}
