//! Every generated policy passes its own intent table, and weakening a policy breaks it.

mod common;

use securequeue::evaluate::intent::{Policies, verify};
use securequeue::plan;
use serde_json::Value;

#[test]
fn every_example_passes_its_intent_table() {
    for queue in common::examples::queues() {
        let env = common::env();
        let (q, plan) = plan::build_resolved(&queue, &env).unwrap();
        let rows = verify(&Policies::of(&plan), &q).unwrap();
        assert!(rows.len() > 20, "{}: only {} rows", plan.name, rows.len());
        let failing: Vec<_> = rows
            .iter()
            .filter(|r| !r.holds)
            .map(|r| &r.check.description)
            .collect();
        assert!(failing.is_empty(), "{}: {failing:#?}", plan.name);
    }
}

/// Every way of weakening one statement of one policy: drop it (for Deny statements), drop one
/// of its conditions, or widen its principal to everyone.
fn mutations(policy: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let statements = policy["Statement"].as_array().unwrap();
    for (i, statement) in statements.iter().enumerate() {
        let sid = statement["Sid"].as_str().unwrap_or("?").to_string();
        if statement["Effect"] == "Deny" {
            let mut weaker = policy.clone();
            weaker["Statement"].as_array_mut().unwrap().remove(i);
            out.push((format!("without {sid}"), weaker));
        }
        if let Some(conditions) = statement["Condition"].as_object() {
            for (operator, keys) in conditions {
                for key in keys.as_object().unwrap().keys() {
                    let mut weaker = policy.clone();
                    let condition = weaker["Statement"][i]["Condition"].as_object_mut().unwrap();
                    let keys = condition
                        .get_mut(operator)
                        .unwrap()
                        .as_object_mut()
                        .unwrap();
                    keys.remove(key);
                    if keys.is_empty() {
                        condition.remove(operator);
                    }
                    out.push((format!("{sid} without {operator} {key}"), weaker));
                }
            }
        }
        if statement["Effect"] == "Allow" && statement["Principal"] != "*" {
            let mut weaker = policy.clone();
            weaker["Statement"][i]["Principal"] = Value::from("*");
            out.push((format!("{sid} open to everyone"), weaker));
        }
    }
    out
}

#[test]
fn weakening_any_statement_of_any_policy_fails_verification() {
    for queue in common::examples::queues() {
        let env = common::env();
        let (q, plan) = plan::build_resolved(&queue, &env).unwrap();
        let policies = Policies::of(&plan);
        let mut survivors = Vec::new();
        for (which, policy) in [
            ("key", &policies.key),
            ("dead-letter queue", &policies.dead_letter_queue),
            ("queue", &policies.queue),
        ] {
            for (what, weaker) in mutations(policy) {
                let mut mutated = policies.clone();
                match which {
                    "key" => mutated.key = weaker,
                    "dead-letter queue" => mutated.dead_letter_queue = weaker,
                    _ => mutated.queue = weaker,
                }
                let rows = verify(&mutated, &q).unwrap();
                if rows.iter().all(|r| r.holds) {
                    survivors.push(format!("{which}: {what}"));
                }
            }
        }
        assert!(
            survivors.is_empty(),
            "{}: weakenings no check noticed: {survivors:#?}",
            plan.name
        );
    }
}
