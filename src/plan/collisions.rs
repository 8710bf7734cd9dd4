//! Documents of one input that would meet in AWS: the same SecureQueue twice, or two
//! SecureQueues whose queues, dead-letter queues or key aliases come out as one resource once
//! names are defaulted (`a-b`/`c` and `a`/`b-c` both default to queue `a-b-c`; dots become
//! dashes). In a cluster the second would be refused as `NameConflict` when it meets the first's
//! resources; in one input it is refused before anything is sent, naming both documents.

use std::collections::BTreeMap;

use super::Plan;

/// One resource a document's plan claims: its ARN, what kind of resource it is, and its name.
struct Claim<'a> {
    arn: &'a str,
    kind: &'static str,
    name: &'a str,
}

/// The claims of one plan: its queues by ARN (the main queue of one and the dead-letter queue
/// of another are the same kind of thing, and meet), and its key alias.
fn claims(plan: &Plan) -> [Claim<'_>; 3] {
    [
        Claim {
            arn: &plan.queue.arn,
            kind: "queue",
            name: &plan.queue.name,
        },
        Claim {
            arn: &plan.dead_letter_queue.arn,
            kind: "dead-letter queue",
            name: &plan.dead_letter_queue.name,
        },
        Claim {
            arn: &plan.key.alias_arn,
            kind: "key alias",
            name: &plan.key.alias,
        },
    ]
}

/// A document that meets an earlier one: which (its position among the plans given), and why,
/// naming both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collision {
    /// The position of the later document's plan among those given: the one refused.
    pub later: usize,
    /// What it shares with which earlier document.
    pub message: String,
}

impl std::fmt::Display for Collision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Every collision among `planned` (each plan with the source that names its document), one
/// for each resource a later document shares with an earlier one; empty when there is none.
pub fn collisions<'a>(planned: impl IntoIterator<Item = (&'a str, &'a Plan)>) -> Vec<Collision> {
    let mut found = Vec::new();
    let mut queues: BTreeMap<&str, &str> = BTreeMap::new();
    let mut claimed: BTreeMap<&str, (&str, &'static str)> = BTreeMap::new();
    for (later, (source, plan)) in planned.into_iter().enumerate() {
        if let Some(first) = queues.insert(&plan.name, source) {
            let message = format!(
                "{source}: SecureQueue {} is also {first}; each SecureQueue may appear once in an input",
                plan.name
            );
            found.push(Collision { later, message });
            continue;
        }
        for claim in claims(plan) {
            match claimed.get(claim.arn) {
                Some((first, theirs)) => found.push(Collision {
                    later,
                    message: format!(
                        "{source}: its {} `{}` is also the {theirs} of {first} ({}); two SecureQueues cannot share one resource: give one of them another name",
                        claim.kind, claim.name, claim.arn
                    ),
                }),
                None => {
                    claimed.insert(claim.arn, (source, claim.kind));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::Environment;

    fn plan(namespace: &str, name: &str, spec: &str) -> Plan {
        let yaml = format!(
            "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  region: us-east-1\n  consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n{spec}"
        );
        let queue = serde_saphyr::from_str(&yaml).unwrap();
        let env = Environment::for_operator(
            "arn:aws:iam::111122223333:role/securequeue-operator".into(),
            None,
            None,
            "c".into(),
            false,
        );
        crate::plan::build(&queue, &env).unwrap()
    }

    fn found(plans: &[Plan]) -> Vec<String> {
        let sources: Vec<String> = (1..=plans.len()).map(|i| format!("document {i}")).collect();
        collisions(sources.iter().map(String::as_str).zip(plans))
            .into_iter()
            .map(|c| c.message)
            .collect()
    }

    #[test]
    fn distinct_secure_queues_do_not_collide() {
        assert!(found(&[plan("a", "b", ""), plan("a", "c", ""), plan("b", "b", "")]).is_empty());
    }

    #[test]
    fn names_that_default_to_one_queue_collide_naming_both_documents() {
        let problems = found(&[plan("a-b", "c", ""), plan("a", "b-c", "")]);
        assert!(!problems.is_empty());
        assert!(
            problems[0].starts_with("document 2: its queue `a-b-c`")
                && problems[0].contains("of document 1"),
            "{problems:?}"
        );
    }

    #[test]
    fn dots_and_dashes_meet_once_defaulted() {
        assert!(!found(&[plan("dots", "b.c", ""), plan("dots", "b-c", "")]).is_empty());
    }

    #[test]
    fn a_given_queue_name_can_take_anothers_default_queue_or_dead_letter_queue() {
        let main = found(&[
            plan("shop", "orders", ""),
            plan("shop", "x", "  queueName: shop-orders\n"),
        ]);
        assert!(
            main.iter().any(|p| p.contains("its queue `shop-orders`")),
            "{main:?}"
        );
        let dead = found(&[
            plan("shop", "orders", ""),
            plan("shop", "x", "  queueName: shop-orders-dlq\n"),
        ]);
        assert!(
            dead.iter().any(|p| p.contains(
                "its queue `shop-orders-dlq` is also the dead-letter queue of document 1"
            )),
            "{dead:?}"
        );
    }

    #[test]
    fn a_given_alias_can_take_anothers_default_alias() {
        let problems = found(&[
            plan("shop", "orders", ""),
            plan(
                "shop",
                "x",
                "  key: {alias: alias/securequeue/shop/orders}\n",
            ),
        ]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("its key alias"), "{problems:?}");
    }

    #[test]
    fn the_same_secure_queue_twice_is_refused_once() {
        let problems = found(&[plan("shop", "orders", ""), plan("shop", "orders", "")]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("may appear once"), "{problems:?}");
    }

    #[test]
    fn the_later_document_is_the_one_refused() {
        let plans = [
            plan("shop", "orders", ""),
            plan("a-b", "c", ""),
            plan("a", "b-c", ""),
        ];
        let sources = ["one", "two", "three"];
        let found = collisions(sources.into_iter().zip(&plans));
        assert!(!found.is_empty());
        assert!(found.iter().all(|c| c.later == 2), "{found:?}");
        assert!(
            found[0]
                .message
                .starts_with("three: its queue `a-b-c` is also the queue of two"),
            "{found:?}"
        );
    }
}
