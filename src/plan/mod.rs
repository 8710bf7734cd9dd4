//! The plan: every document and value the operator applies for one SecureQueue, and the ordered
//! AWS calls of a fresh converge. Pure: a spec and the operator's configuration in, a plan or the
//! list of problems out, with no I/O.

pub mod kms_cost;
pub mod steps;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::api::SecureQueue;
use crate::policy::document::PolicyDocument;
use crate::policy::quota::{self, PolicyKind};
use crate::policy::{key, queue, redrive};
use crate::resolve::{self, Environment, Resolved};
use crate::validation::Problem;

pub use kms_cost::KmsEstimate;
pub use steps::Step;

/// Everything the operator will create for one SecureQueue.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// `<namespace>/<name>`.
    pub name: String,
    /// The region of the key and queues.
    pub region: String,
    /// The KMS key.
    pub key: KeyPlan,
    /// The dead-letter queue.
    pub dead_letter_queue: QueuePlan,
    /// The main queue.
    pub queue: QueuePlan,
    /// The AWS calls of a fresh converge, in order.
    pub steps: Vec<Step>,
    /// The KMS request estimate.
    pub kms: KmsEstimate,
}

/// The KMS key.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KeyPlan {
    /// The alias, `alias/...`.
    pub alias: String,
    /// The alias ARN.
    pub alias_arn: String,
    /// The key's description.
    pub description: String,
    /// The key policy.
    pub policy: PolicyDocument,
    /// Days between rotations.
    pub rotation_period_days: u32,
    /// Days between scheduling deletion and deletion.
    pub deletion_window_days: u32,
    /// Ownership and user tags.
    pub tags: BTreeMap<String, String>,
}

/// One queue.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QueuePlan {
    /// The queue name.
    pub name: String,
    /// The queue ARN.
    pub arn: String,
    /// The exact SQS attribute map: string values, documents as JSON strings.
    pub attributes: BTreeMap<String, String>,
    /// Ownership and user tags.
    pub tags: BTreeMap<String, String>,
}

/// Builds the plan of one SecureQueue, or says everything that is wrong with it.
pub fn build(queue: &SecureQueue, env: &Environment) -> Result<Plan, Vec<Problem>> {
    build_resolved(queue, env).map(|(_, plan)| plan)
}

/// Builds the plan and holds it to where the SecureQueue's status records its resources (see
/// [`crate::identity`]): the problems of either, for the subcommands that report both alike.
pub fn build_in_place(queue: &SecureQueue, env: &Environment) -> Result<Plan, Vec<Problem>> {
    let (resolved, plan) = build_resolved(queue, env)?;
    let moves = resolved.moves_from(queue.status.as_ref());
    if moves.is_empty() {
        Ok(plan)
    } else {
        Err(moves)
    }
}

/// Builds the plan together with the resolved values it was made from, which the intent table
/// checks the plan's policies against. The SecureQueue is first held to the environment's
/// guardrails, so every subcommand refuses what the controller refuses.
pub fn build_resolved(
    queue: &SecureQueue,
    env: &Environment,
) -> Result<(Resolved, Plan), Vec<Problem>> {
    let queue = env
        .guardrails
        .apply(queue, &env.account_id)
        .map_err(|violations| {
            violations
                .into_iter()
                .map(|v| v.problem.refused_as(v.reason))
                .collect::<Vec<_>>()
        })?;
    let q = resolve::resolve(&queue, env)?;
    let mut problems = Vec::new();
    let mut fit = |kind, what: &str, doc| {
        quota::fit(kind, doc).map_err(|violations| {
            for v in violations {
                problems.push(Problem::new(
                    "spec",
                    format!(
                        "the {what} would need {v}; name fewer principals or sources, or drop optional statements (organizationId, vpcEndpointId)"
                    ),
                ));
            }
        })
    };
    let key_policy = fit(PolicyKind::Key, "key policy", key::key_policy(&q));
    let dead_letter_policy = fit(
        PolicyKind::Queue,
        "dead-letter queue policy",
        queue::dead_letter_queue_policy(&q),
    );
    let main_policy = fit(
        PolicyKind::Queue,
        "main queue policy",
        queue::main_queue_policy(&q),
    );
    let (Ok(key_policy), Ok(dead_letter_policy), Ok(main_policy)) =
        (key_policy, dead_letter_policy, main_policy)
    else {
        return Err(problems);
    };

    let plan = Plan {
        name: q.display_name(),
        region: q.region.clone(),
        key: KeyPlan {
            alias: q.key_alias.clone(),
            alias_arn: q.key_alias_arn.clone(),
            description: resolve::key_description(
                &q.namespace,
                &q.name,
                &q.tags[resolve::TAG_CLUSTER],
            ),
            policy: key_policy,
            rotation_period_days: q.spec.key.rotation_period_days,
            deletion_window_days: q.spec.key.deletion_window_days,
            tags: q.tags.clone(),
        },
        dead_letter_queue: QueuePlan {
            name: q.dead_letter_queue_name.clone(),
            arn: q.dead_letter_queue_arn.clone(),
            attributes: dead_letter_queue_attributes(&q, &dead_letter_policy),
            tags: q.tags.clone(),
        },
        queue: QueuePlan {
            name: q.queue_name.clone(),
            arn: q.queue_arn.clone(),
            attributes: main_queue_attributes(&q, &main_policy),
            tags: q.tags.clone(),
        },
        steps: steps::fresh_converge(&q),
        kms: kms_cost::estimate(&q),
    };
    Ok((q, plan))
}

/// Attributes both queues carry: encryption with the key, FIFO-ness.
fn common_attributes(q: &Resolved) -> BTreeMap<String, String> {
    let mut attributes = BTreeMap::from([
        ("KmsMasterKeyId".to_string(), q.key_alias_arn.clone()),
        (
            "KmsDataKeyReusePeriodSeconds".to_string(),
            q.spec.key.data_key_reuse_period_seconds.to_string(),
        ),
    ]);
    if q.spec.fifo {
        attributes.insert("FifoQueue".to_string(), "true".to_string());
    }
    attributes
}

fn dead_letter_queue_attributes(q: &Resolved, policy: &PolicyDocument) -> BTreeMap<String, String> {
    let mut attributes = common_attributes(q);
    let allow = serde_json::to_string(&redrive::redrive_allow_policy(q)).expect("serializes");
    attributes.extend([
        (
            "MessageRetentionPeriod".to_string(),
            q.spec
                .dead_letter_queue
                .message_retention_seconds
                .to_string(),
        ),
        ("Policy".to_string(), policy.to_compact_json()),
        ("RedriveAllowPolicy".to_string(), allow),
    ]);
    attributes
}

fn main_queue_attributes(q: &Resolved, policy: &PolicyDocument) -> BTreeMap<String, String> {
    let settings = &q.spec.queue;
    let mut attributes = common_attributes(q);
    let redrive = serde_json::to_string(&redrive::redrive_policy(q)).expect("serializes");
    attributes.extend([
        (
            "DelaySeconds".to_string(),
            settings.delay_seconds.to_string(),
        ),
        (
            "MaximumMessageSize".to_string(),
            settings.maximum_message_size_bytes.to_string(),
        ),
        (
            "MessageRetentionPeriod".to_string(),
            settings.message_retention_seconds.to_string(),
        ),
        ("Policy".to_string(), policy.to_compact_json()),
        (
            "ReceiveMessageWaitTimeSeconds".to_string(),
            settings.receive_wait_time_seconds.to_string(),
        ),
        ("RedrivePolicy".to_string(), redrive),
        (
            "VisibilityTimeout".to_string(),
            settings.visibility_timeout_seconds.to_string(),
        ),
    ]);
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::Reason;
    use crate::guardrails::Guardrails;

    fn queue() -> SecureQueue {
        serde_saphyr::from_str(
            "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata: {name: orders, namespace: shop}\nspec:\n  region: eu-west-1\n  consumerRoleArns: [arn:aws:iam::111122223333:role/c]\n",
        )
        .unwrap()
    }

    fn env(guardrails: Guardrails) -> Environment {
        Environment {
            guardrails,
            ..Environment::for_operator(
                "arn:aws:iam::111122223333:role/op".into(),
                None,
                None,
                "c".into(),
                false,
            )
        }
    }

    #[test]
    fn planning_refuses_what_the_guardrails_refuse_and_names_the_guardrail() {
        let guarded = env(Guardrails {
            required_organization_id: Some("o-abc123defg".into()),
            ..Guardrails::default()
        });
        let problems = build(&queue(), &guarded).unwrap_err();
        assert_eq!(problems[0].refusal, Reason::GuardrailOrganization);
        assert_eq!(problems[0].field, "spec.organizationId");
        assert!(build(&queue(), &guarded.without_guardrails()).is_ok());
    }

    #[test]
    fn planning_applies_what_the_guardrails_add() {
        let prefixed = env(Guardrails {
            queue_name_prefix: Some("team-".into()),
            ..Guardrails::default()
        });
        let plan = build(&queue(), &prefixed).unwrap();
        assert!(plan.queue.name.starts_with("team-"), "{}", plan.queue.name);
    }
}
