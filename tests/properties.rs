//! Properties of generation over many generated specs: deterministic, round-trippable, never an
//! Allow to everyone, the operator never locked out, always within AWS's quotas.

mod common;

use proptest::prelude::*;
use securequeue::api::{Producers, SecureQueue, SecureQueueSpec};
use securequeue::evaluate::intent::{Policies, verify};
use securequeue::plan::{self, Plan};
use securequeue::policy::document::{Effect, PolicyDocument, Principal};
use securequeue::policy::quota::{self, PolicyKind};

fn role(name: &str) -> String {
    format!("arn:aws:iam::111122223333:role/{name}")
}

fn names(
    prefix: &'static str,
    range: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<String>> {
    proptest::collection::btree_set("[a-z][a-z0-9-]{1,18}[a-z0-9]", range)
        .prop_map(move |set| set.into_iter().map(|n| format!("{prefix}{n}")).collect())
}

prop_compose! {
    fn spec()(
        fifo in any::<bool>(),
        consumers in names("c-", 1..6),
        admins in names("a-", 0..4),
        dead_letter_consumers in names("d-", 0..3),
        topics in names("t-", 0..3),
        buckets in names("b-", 0..3),
        rules in names("r-", 0..3),
        producer_roles in names("p-", 0..3),
        organization in proptest::option::of("[a-z0-9]{10}"),
        vpce in proptest::option::of("[0-9a-f]{8}"),
        reuse in 60u32..=86_400,
        retention in 60u32..=1_209_600,
        max_receive in 1u32..=1000,
    ) -> SecureQueueSpec {
        let mut spec: SecureQueueSpec = serde_json::from_value(serde_json::json!({"consumerRoleArns": []})).unwrap();
        spec.fifo = fifo;
        spec.consumer_role_arns = consumers.iter().map(|n| role(n)).collect();
        spec.admin_role_arns = admins.iter().map(|n| role(n)).collect();
        spec.dead_letter_queue.consumer_role_arns = dead_letter_consumers.iter().map(|n| role(n)).collect();
        let suffix = if fifo { ".fifo" } else { "" };
        spec.producers = Producers {
            sns_topic_arns: topics.iter().map(|t| format!("arn:aws:sns:us-east-1:111122223333:{t}{suffix}")).collect(),
            s3_bucket_arns: if fifo { vec![] } else { buckets.iter().map(|b| format!("arn:aws:s3:::{b}")).collect() },
            event_bridge_rule_arns: rules.iter().map(|r| format!("arn:aws:events:eu-west-1:111122223333:rule/{r}")).collect(),
            role_arns: producer_roles.iter().map(|n| role(n)).collect(),
        };
        spec.organization_id = organization.map(|o| format!("o-{o}"));
        spec.vpc_endpoint_id = vpce.map(|v| format!("vpce-{v}"));
        spec.key.data_key_reuse_period_seconds = reuse;
        spec.queue.message_retention_seconds = retention;
        spec.dead_letter_queue.message_retention_seconds = retention;
        spec.dead_letter_queue.max_receive_count = max_receive;
        spec
    }
}

fn queue(spec: SecureQueueSpec) -> SecureQueue {
    let mut queue = SecureQueue::new("orders", spec);
    queue.metadata.namespace = Some("shop".into());
    queue
}

fn policies(plan: &Plan) -> Vec<(PolicyKind, PolicyDocument)> {
    let parse = |q: &plan::QueuePlan| q.attributes.policy.typed();
    vec![
        (PolicyKind::Key, plan.key.policy.typed()),
        (PolicyKind::Queue, parse(&plan.dead_letter_queue)),
        (PolicyKind::Queue, parse(&plan.queue)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generation_is_deterministic(spec in spec()) {
        let queue = queue(spec);
        let first = plan::build(&queue, &common::env());
        let second = plan::build(&queue, &common::env());
        prop_assert_eq!(format!("{first:?}"), format!("{second:?}"));
    }

    #[test]
    fn specs_round_trip_through_json_and_yaml(spec in spec()) {
        let queue = queue(spec);
        let json: SecureQueue = serde_json::from_str(&serde_json::to_string(&queue).unwrap()).unwrap();
        prop_assert_eq!(&json, &queue);
        let yaml: SecureQueue = serde_saphyr::from_str(&serde_saphyr::to_string(&queue).unwrap()).unwrap();
        prop_assert_eq!(&yaml, &queue);
    }

    #[test]
    fn a_valid_spec_fails_only_on_a_computed_quota(spec in spec()) {
        if let Err(problems) = plan::build(&queue(spec), &common::env()) {
            for problem in problems {
                prop_assert!(problem.reason.contains("over the quota"), "{}", problem);
            }
        }
    }

    #[test]
    fn generated_policies_hold_their_invariants(spec in spec()) {
        let Ok(plan) = plan::build(&queue(spec), &common::env()) else { return Ok(()) };
        for (kind, doc) in policies(&plan) {
            prop_assert_eq!(doc.version.as_str(), "2012-10-17");
            prop_assert!(quota::violations(kind, &doc).is_empty());
            let reparsed: PolicyDocument = serde_json::from_str(&doc.to_compact_json()).unwrap();
            prop_assert_eq!(&reparsed, &doc);
            for statement in doc.statement.iter().filter(|s| s.effect == Effect::Allow) {
                let open = match &statement.principal {
                    Principal::Everyone => true,
                    Principal::Aws(values) | Principal::Service(values) => values.contains("*"),
                };
                prop_assert!(!open, "{} allows everyone", statement.sid);
            }
        }
    }

    #[test]
    fn the_operator_administers_everything(spec in spec()) {
        let Ok(plan) = plan::build(&queue(spec), &common::env()) else { return Ok(()) };
        let [(_, key), (_, dead_letter), (_, main)] = <[_; 3]>::try_from(policies(&plan)).unwrap();
        let admins = key.statement("AllowKeyAdminPermissions").unwrap();
        prop_assert!(matches!(&admins.principal, Principal::Aws(v) if v.contains(common::OPERATOR_ROLE)));
        for doc in [dead_letter, main] {
            let restrict = doc.statement("RestrictAdminQueueActions").unwrap();
            prop_assert!(restrict.condition["StringNotLike"]["aws:PrincipalARN"].contains(common::OPERATOR_ROLE));
        }
    }

    #[test]
    fn every_generated_policy_passes_its_own_intent_table(spec in spec()) {
        let queue = queue(spec);
        let env = common::env();
        if let Ok((resolved, plan)) = plan::build_resolved(&queue, &env) {
            let rows = verify(&Policies::of(&plan), &resolved).unwrap();
            let failing: Vec<&str> = rows.iter().filter(|r| !r.holds).map(|r| r.check.description.as_str()).collect();
            prop_assert!(failing.is_empty(), "{failing:#?}");
        }
    }
}
