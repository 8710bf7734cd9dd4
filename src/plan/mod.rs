//! The plan: every document and value the operator applies for one SecureQueue, and the ordered
//! AWS calls of a fresh converge. Pure: a spec and the operator's configuration in, a plan or the
//! list of problems out, with no I/O.

pub mod collisions;
pub mod kms_cost;
pub mod steps;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::api::SecureQueue;
use crate::policy::document::{CompactDocument, PolicyDocument};
use crate::policy::quota::{self, PolicyKind};
use crate::policy::{key, queue, redrive};
use crate::resolve::{self, Environment, Resolved};
use crate::validation::Problem;

pub use collisions::{Collision, collisions};
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
    pub policy: CompactDocument,
    /// Days between rotations.
    pub rotation_period_days: u32,
    /// Days between scheduling deletion and deletion.
    pub deletion_window_days: u32,
    /// Ownership and user tags, shared by the three resources.
    pub tags: Arc<BTreeMap<String, String>>,
}

/// One queue.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QueuePlan {
    /// The queue name.
    pub name: String,
    /// The queue ARN.
    pub arn: String,
    /// The queue's attributes.
    pub attributes: QueueAttributes,
    /// Ownership and user tags, shared by the three resources.
    pub tags: Arc<BTreeMap<String, String>>,
}

/// A queue's attributes: its policy as the compact JSON it was generated to (typed while it is
/// made and checked, in [`crate::policy`]), its redrive document typed, every other setting as
/// the string SQS takes. SQS's attribute map is made only where it is needed, by
/// [`QueueAttributes::to_sqs`]; the plan serializes as that map.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueAttributes {
    /// The plain settings (encryption, FIFO-ness, timings), by SQS attribute name.
    pub settings: BTreeMap<String, String>,
    /// The queue policy (`Policy`).
    pub policy: CompactDocument,
    /// The queue's redrive document.
    pub redrive: Redrive,
}

/// The redrive document of a queue: each of the two queues has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redrive {
    /// The main queue's `RedrivePolicy`: where its failing messages go.
    Policy(redrive::RedrivePolicy),
    /// The dead-letter queue's `RedriveAllowPolicy`: which queues may send it theirs.
    Allow(redrive::RedriveAllowPolicy),
}

impl Redrive {
    /// The SQS attribute this document is the value of.
    pub fn attribute_name(&self) -> &'static str {
        match self {
            Redrive::Policy(_) => "RedrivePolicy",
            Redrive::Allow(_) => "RedriveAllowPolicy",
        }
    }

    /// The document as SQS takes it: compact JSON.
    pub fn to_compact_json(&self) -> String {
        match self {
            Redrive::Policy(policy) => serde_json::to_string(policy),
            Redrive::Allow(allow) => serde_json::to_string(allow),
        }
        .expect("a redrive document always serializes")
    }
}

impl QueueAttributes {
    /// The exact SQS attribute map: string values, documents as compact JSON.
    pub fn to_sqs(&self) -> BTreeMap<String, String> {
        let mut attributes = self.settings.clone();
        attributes.insert("Policy".to_string(), self.policy.as_json().to_string());
        attributes.insert(
            self.redrive.attribute_name().to_string(),
            self.redrive.to_compact_json(),
        );
        attributes
    }
}

/// As the attribute map SQS is sent, so that `securequeue plan` shows exactly that.
impl Serialize for QueueAttributes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_sqs().serialize(serializer)
    }
}

/// Builds the plan of one SecureQueue, or says everything that is wrong with it.
pub fn build(queue: &SecureQueue, env: &Environment) -> Result<Plan, Vec<Problem>> {
    build_resolved(queue, env).map(|(_, plan)| plan)
}

/// Builds the plan and holds it to where the SecureQueue's status records its resources (see
/// [`crate::placement`]): the problems of either, for the subcommands that report both alike.
pub fn build_in_place(queue: &SecureQueue, env: &Environment) -> Result<Plan, Vec<Problem>> {
    build_held(queue, env).map(|(_, plan)| plan)
}

/// [`build_resolved`], held to where the SecureQueue's status records its resources.
pub fn build_held(
    queue: &SecureQueue,
    env: &Environment,
) -> Result<(Resolved, Plan), Vec<Problem>> {
    hold(queue, build_resolved(queue, env)?)
}

/// `built`, unless it would move a resource the SecureQueue's status records somewhere else:
/// converging a moved spec would build anew and abandon the real resources, and deleting by it
/// would delete nothing and release them.
pub fn hold(
    queue: &SecureQueue,
    built: (Resolved, Plan),
) -> Result<(Resolved, Plan), Vec<Problem>> {
    let moves = built.0.moves_from(queue.status.as_ref());
    if moves.is_empty() {
        Ok(built)
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
            policy: CompactDocument::from(&key_policy),
            rotation_period_days: q.spec.key.rotation_period_days,
            deletion_window_days: q.spec.key.deletion_window_days,
            tags: q.tags.clone(),
        },
        dead_letter_queue: QueuePlan {
            name: q.dead_letter_queue_name.clone(),
            arn: q.dead_letter_queue_arn.clone(),
            attributes: dead_letter_queue_attributes(&q, dead_letter_policy),
            tags: q.tags.clone(),
        },
        queue: QueuePlan {
            name: q.queue_name.clone(),
            arn: q.queue_arn.clone(),
            attributes: main_queue_attributes(&q, main_policy),
            tags: q.tags.clone(),
        },
        steps: steps::fresh_converge(&q),
        kms: kms_cost::estimate(&q),
    };
    Ok((q, plan))
}

/// Settings both queues carry: encryption with the key, FIFO-ness.
fn common_settings(q: &Resolved) -> BTreeMap<String, String> {
    let mut settings = BTreeMap::from([
        ("KmsMasterKeyId".to_string(), q.key_alias_arn.clone()),
        (
            "KmsDataKeyReusePeriodSeconds".to_string(),
            q.spec.key.data_key_reuse_period_seconds.to_string(),
        ),
    ]);
    if q.spec.fifo {
        settings.insert("FifoQueue".to_string(), "true".to_string());
    }
    settings
}

fn dead_letter_queue_attributes(q: &Resolved, policy: PolicyDocument) -> QueueAttributes {
    let mut settings = common_settings(q);
    settings.insert(
        "MessageRetentionPeriod".to_string(),
        q.spec
            .dead_letter_queue
            .message_retention_seconds
            .to_string(),
    );
    QueueAttributes {
        settings,
        policy: CompactDocument::from(&policy),
        redrive: Redrive::Allow(redrive::redrive_allow_policy(q)),
    }
}

fn main_queue_attributes(q: &Resolved, policy: PolicyDocument) -> QueueAttributes {
    let queue = &q.spec.queue;
    let mut settings = common_settings(q);
    settings.extend([
        ("DelaySeconds".to_string(), queue.delay_seconds.to_string()),
        (
            "MaximumMessageSize".to_string(),
            queue.maximum_message_size_bytes.to_string(),
        ),
        (
            "MessageRetentionPeriod".to_string(),
            queue.message_retention_seconds.to_string(),
        ),
        (
            "ReceiveMessageWaitTimeSeconds".to_string(),
            queue.receive_wait_time_seconds.to_string(),
        ),
        (
            "VisibilityTimeout".to_string(),
            queue.visibility_timeout_seconds.to_string(),
        ),
    ]);
    QueueAttributes {
        settings,
        policy: CompactDocument::from(&policy),
        redrive: Redrive::Policy(redrive::redrive_policy(q)),
    }
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
