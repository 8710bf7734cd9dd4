//! Golden tests against the AWS least-privilege guidance (seed 004): every statement the guidance
//! gives appears in the generated policy with the same Sid, effect, actions, principal kind,
//! resource and condition operators and keys. Where the generator adds to a statement, the
//! addition is listed here and only makes the statement stricter.

mod common;

use common::{manifest, plan};
use serde_json::Value;

const SEED: &str = include_str!("fixtures/seed-004-statements.json");

/// Every option on: SNS producer, organization, VPC endpoint, an admin.
fn full_plan() -> securequeue::plan::Plan {
    plan(&manifest(
        "  organizationId: o-a1b2c3d4e5\n  vpcEndpointId: vpce-0abc12345\n  adminRoleArns: [arn:aws:iam::111122223333:role/platform-admin]\n  consumerRoleArns: [arn:aws:iam::111122223333:role/orders-worker]\n  producers: {snsTopicArns: [arn:aws:sns:eu-west-1:111122223333:orders-events]}\n",
    ))
    .unwrap()
}

fn seed() -> Value {
    serde_json::from_str(SEED).unwrap()
}

/// The generated statement the guidance's Sid stands for. The guidance's sample misspells one.
fn generated_sid(seed_sid: &str) -> &str {
    match seed_sid {
        "AllowReadAcesssToKeyMetaData" => "AllowReadAccessToKeyMetaData",
        other => other,
    }
}

/// Conditions the generator adds beyond the guidance, each narrowing who the statement applies to.
const STRICTER_ADDITIONS: &[(&str, &str, &str)] = &[
    // The service may use the key only on behalf of the declared topic, not any of the account's.
    ("AllowSNSToSendToSQS", "ArnEquals", "aws:SourceArn"),
    // Consumers may decrypt only through SQS, never by calling KMS themselves.
    (
        "AllowConsumersToReceiveFromTheQueue",
        "StringEquals",
        "kms:ViaService",
    ),
];

fn strings(value: &Value) -> Vec<String> {
    let mut out: Vec<String> = match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
        other => panic!("not a string or list: {other}"),
    };
    out.sort();
    out
}

fn is_placeholder(value: &str) -> bool {
    value.contains('<')
}

/// Compares one generated statement with the guidance's.
fn assert_matches_seed(policy_name: &str, generated: &Value, seed: &Value, queue_arn: &str) {
    let sid = seed["Sid"].as_str().unwrap();
    let context = format!("{policy_name} {sid}");
    assert_eq!(generated["Effect"], seed["Effect"], "{context}: effect");
    assert_eq!(
        strings(&generated["Action"]),
        strings(&seed["Action"]),
        "{context}: actions"
    );

    match (&seed["Principal"], &generated["Principal"]) {
        (Value::String(s), Value::String(g)) => assert_eq!(s, g, "{context}: principal"),
        (Value::Object(s), Value::Object(g)) => {
            let kind = s.keys().next().unwrap();
            assert!(
                g.contains_key(kind),
                "{context}: principal kind {kind} expected, got {g:?}"
            );
            let seed_values = strings(&s[kind]);
            if !seed_values.iter().any(|v| is_placeholder(v)) {
                assert_eq!(
                    strings(&g[kind]),
                    seed_values,
                    "{context}: principal values"
                );
            }
        }
        (s, g) => panic!("{context}: principal {g} does not have the guidance's shape {s}"),
    }

    let resource = seed["Resource"].as_str().unwrap();
    let expected_resource = if is_placeholder(resource) {
        queue_arn
    } else {
        resource
    };
    assert_eq!(
        generated["Resource"], expected_resource,
        "{context}: resource"
    );

    let empty = serde_json::Map::new();
    let seed_conditions = seed["Condition"].as_object().unwrap_or(&empty);
    let generated_conditions = generated["Condition"].as_object().unwrap_or(&empty);
    for (operator, keys) in seed_conditions {
        for (key, seed_value) in keys.as_object().unwrap() {
            let value = generated_conditions
                .get(operator)
                .and_then(|k| k.get(key))
                .unwrap_or_else(|| panic!("{context}: condition {operator} {key} missing"));
            let seed_values = strings(seed_value);
            if !seed_values.iter().any(|v| is_placeholder(v)) {
                assert_eq!(strings(value), seed_values, "{context}: {operator} {key}");
            }
        }
    }
    for (operator, keys) in generated_conditions {
        for key in keys.as_object().unwrap().keys() {
            let in_seed = seed_conditions
                .get(operator)
                .and_then(|k| k.get(key))
                .is_some();
            let declared =
                STRICTER_ADDITIONS.contains(&(generated_sid(sid), operator.as_str(), key.as_str()));
            assert!(
                in_seed || declared,
                "{context}: condition {operator} {key} is neither the guidance's nor a declared stricter addition"
            );
        }
    }
}

fn find<'a>(policy: &'a Value, sid: &str) -> &'a Value {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("statement {sid} missing from {policy}"))
}

fn attribute_policy(queue: &securequeue::plan::QueuePlan) -> Value {
    queue.attributes.policy.to_value()
}

#[test]
fn key_policy_has_every_statement_of_the_guidance() {
    let plan = full_plan();
    let policy = serde_json::to_value(&plan.key.policy).unwrap();
    for statement in seed()["key"].as_array().unwrap() {
        let sid = generated_sid(statement["Sid"].as_str().unwrap());
        assert_matches_seed("key policy", find(&policy, sid), statement, "*");
    }
}

#[test]
fn main_queue_policy_has_every_statement_of_the_guidance() {
    let plan = full_plan();
    let policy = attribute_policy(&plan.queue);
    for statement in seed()["queue"].as_array().unwrap() {
        let sid = statement["Sid"].as_str().unwrap();
        assert_matches_seed(
            "queue policy",
            find(&policy, sid),
            statement,
            &plan.queue.arn,
        );
    }
}

#[test]
fn dead_letter_queue_policy_has_the_statements_the_guidance_lists_for_it() {
    let plan = full_plan();
    let policy = attribute_policy(&plan.dead_letter_queue);
    let seed = seed();
    for sid in seed["deadLetterQueueShared"].as_array().unwrap() {
        let statement = seed["queue"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| &s["Sid"] == sid)
            .unwrap();
        assert_matches_seed(
            "DLQ policy",
            find(&policy, sid.as_str().unwrap()),
            statement,
            &plan.dead_letter_queue.arn,
        );
    }
    assert_eq!(
        policy["Statement"].as_array().unwrap().len(),
        7,
        "five shared statements, AllowTheOperatorToManageTheQueue and DenyAnyProducersExceptSQS"
    );
}

#[test]
fn dead_letter_queue_accepts_only_the_main_queue_narrower_than_the_guidance() {
    let plan = full_plan();
    let policy = attribute_policy(&plan.dead_letter_queue);
    let seed_statement = &seed()["deadLetterQueueExtra"][0];
    let generated = find(&policy, "DenyAnyProducersExceptSQS");
    assert_eq!(generated["Effect"], seed_statement["Effect"]);
    assert_eq!(generated["Action"], seed_statement["Action"]);
    assert_eq!(generated["Resource"], plan.dead_letter_queue.arn.as_str());
    // The guidance allows any queue of the account: arn:aws:sqs:<region>:<account-id>:*.
    let guidance_pattern = seed_statement["Condition"]["ArnNotLike"]["aws:SourceArn"]
        .as_str()
        .unwrap()
        .replace("<region>", "eu-west-1")
        .replace("<account-id>", common::ACCOUNT);
    let source = generated["Condition"]["ArnNotLike"]["aws:SourceArn"]
        .as_str()
        .unwrap();
    assert_eq!(source, plan.queue.arn, "exactly the main queue");
    assert!(
        source.starts_with(guidance_pattern.trim_end_matches('*')),
        "within the guidance's pattern {guidance_pattern}"
    );
}

#[test]
fn the_guidance_statements_are_all_that_an_sns_queue_gets() {
    let plan = full_plan();
    let sids = |policy: &Value| -> Vec<String> {
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Sid"].as_str().unwrap().to_string())
            .collect()
    };
    let seed = seed();
    let seed_sids = |list: &str| -> Vec<String> {
        seed[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| generated_sid(s["Sid"].as_str().unwrap()).to_string())
            .collect()
    };
    assert_eq!(
        sids(&serde_json::to_value(&plan.key.policy).unwrap()),
        seed_sids("key")
    );
    // Beyond the guidance, one statement: what the operator's own IAM policy no longer grants.
    let mut queue_sids = seed_sids("queue");
    queue_sids.insert(1, "AllowTheOperatorToManageTheQueue".to_string());
    assert_eq!(sids(&attribute_policy(&plan.queue)), queue_sids);
}

#[test]
fn the_one_statement_beyond_the_guidance_grants_the_operator_its_queue_alone() {
    let plan = full_plan();
    for queue in [&plan.queue, &plan.dead_letter_queue] {
        let policy = attribute_policy(queue);
        let statement = find(&policy, "AllowTheOperatorToManageTheQueue");
        assert_eq!(statement["Effect"], "Allow");
        assert_eq!(statement["Principal"]["AWS"], common::OPERATOR_ROLE);
        assert_eq!(statement["Resource"], queue.arn.as_str());
        assert_eq!(
            statement["Action"],
            serde_json::json!([
                "sqs:DeleteQueue",
                "sqs:SetQueueAttributes",
                "sqs:TagQueue",
                "sqs:UntagQueue"
            ])
        );
        assert!(statement.get("Condition").is_none());
    }
}
