//! The containment table: what the operator's role may do with its IAM policy, judged together
//! with each resource's own policy as AWS judges same-account requests ([`crate::iam::same_account`]).
//! Every operation the operator performs on its own key, alias and queues must be allowed; the
//! operations that would change, tag, use or delete a key, alias or queue it did not make must
//! never be, whether that resource is untagged, tagged for another cluster, or tagged for this
//! very cluster by someone else (a tag the operator did not write grants it nothing).
//!
//! Pure: the IAM policy and a plan's policies in, the rows out. `securequeue verify --operator`
//! prints it and fails on any row that does not hold; `tests/iam_policy.rs` ties the operations
//! of its own rows to the SDK calls in `src/aws/`.

use serde::Serialize;
use serde_json::{Value, json};

use crate::arn::Arn;
use crate::iam::same_account::{ResourcePolicy, decide};
use crate::iam::{Decision, Effect, Error, Principal, Request};
use crate::plan::Plan;
use crate::policy::operator::CREATE_KEY;
use crate::resolve::{Resolved, TAG_CLUSTER};

/// Calls that name no resource: the listings, CreateKey and the caller's identity.
pub const ACCOUNT_OPERATIONS: [&str; 4] = [
    "kms:CreateKey",
    "kms:ListAliases",
    "kms:ListKeys",
    "sts:GetCallerIdentity",
];
/// Calls on a key the operator made.
pub const KEY_OPERATIONS: [&str; 12] = [
    "kms:CancelKeyDeletion",
    "kms:DescribeKey",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
];
/// Calls on an alias of a key the operator made.
pub const ALIAS_OPERATIONS: [&str; 3] = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"];
/// Calls on a queue the operator made.
pub const QUEUE_OPERATIONS: [&str; 8] = [
    "sqs:CreateQueue",
    "sqs:DeleteQueue",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ListQueueTags",
    "sqs:SetQueueAttributes",
    "sqs:TagQueue",
    "sqs:UntagQueue",
];

/// What would claim, change or use a key of another.
pub const FOREIGN_KEY_ATTACKS: [&str; 8] = [
    "kms:TagResource",
    "kms:UntagResource",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "kms:UpdateKeyDescription",
    "kms:CreateGrant",
    "kms:Decrypt",
];
/// What would take over an alias of another, or point one at another's key.
pub const FOREIGN_ALIAS_ATTACKS: [&str; 3] =
    ["kms:UpdateAlias", "kms:DeleteAlias", "kms:CreateAlias"];
/// What would claim, change or use a queue of another.
pub const FOREIGN_QUEUE_ATTACKS: [&str; 8] = [
    "sqs:TagQueue",
    "sqs:UntagQueue",
    "sqs:SetQueueAttributes",
    "sqs:DeleteQueue",
    "sqs:AddPermission",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
    "sqs:PurgeQueue",
];

/// Whose a resource is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Owner {
    /// The operator made it: its key policy or queue policy is the plan's.
    Own,
    /// Another's, without securequeue tags.
    Untagged,
    /// Another's, tagged for another cluster.
    OtherCluster,
    /// Another's, which someone tagged for this cluster.
    TaggedForThisCluster,
}

impl Owner {
    /// The owners of resources the operator did not make.
    pub const FOREIGN: [Owner; 3] = [
        Owner::Untagged,
        Owner::OtherCluster,
        Owner::TaggedForThisCluster,
    ];

    /// For the table.
    pub fn describe(self) -> &'static str {
        match self {
            Owner::Own => "own",
            Owner::Untagged => "foreign, untagged",
            Owner::OtherCluster => "foreign, another cluster's tag",
            Owner::TaggedForThisCluster => "foreign, this cluster's tag",
        }
    }
}

/// What a row is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Resource {
    /// A call naming no resource.
    Account,
    /// A KMS key.
    Key,
    /// A KMS alias (and the keys it names).
    Alias,
    /// The main queue.
    Queue,
    /// The dead-letter queue.
    DeadLetterQueue,
}

/// One checked row.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// Whose the resource is.
    pub owner: Owner,
    /// Which resource.
    pub resource: Resource,
    /// The action.
    pub action: String,
    /// Whether it must be allowed (own resources) or never (another's).
    pub must_be_allowed: bool,
    /// The decision over every resource the call is authorized on.
    pub decision: Decision,
    /// Whether the decision is the expected one.
    pub holds: bool,
}

/// Key ids for the table: the operator's key, a key of another, and the key another's alias
/// names.
const OWN_KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const FOREIGN_KEY_ID: &str = "0000ffff-12ab-34cd-56ef-1234567890ab";
/// The cluster id another cluster's tag carries.
const OTHER_CLUSTER: &str = "securequeue-verify-other-cluster";

/// The resources of the table and their policies.
struct Subjects<'a> {
    iam: &'a Value,
    operator: &'a str,
    /// The SecureQueue's organization, which the operator's account belongs to.
    organization: Option<&'a str>,
    cluster: &'a str,
    key_arn: String,
    key_policy: Value,
    alias_arn: String,
    queues: [(Resource, String, Value); 2],
    foreign_key_arn: String,
    foreign_key_policy: Value,
    foreign_alias_arn: String,
    foreign_queue_arn: String,
}

/// Every row, for the operator's IAM policy and the policies of one plan.
pub fn table(iam: &Value, plan: &Plan, q: &Resolved) -> Result<Vec<Row>, Error> {
    let subjects = Subjects::of(iam, plan, q);
    let mut rows = Vec::new();
    for action in ACCOUNT_OPERATIONS {
        rows.push(subjects.row(Owner::Own, Resource::Account, action, &[("*", None)])?);
    }
    for action in KEY_OPERATIONS {
        let key = [(subjects.key_arn.as_str(), Some(&subjects.key_policy))];
        rows.push(subjects.row(Owner::Own, Resource::Key, action, &key)?);
    }
    for action in ALIAS_OPERATIONS {
        let own_key = (subjects.key_arn.as_str(), &subjects.key_policy);
        let parts = subjects.alias_parts(action, &subjects.alias_arn, own_key);
        rows.push(subjects.row(Owner::Own, Resource::Alias, action, &parts)?);
    }
    for (resource, arn, policy) in &subjects.queues {
        for action in QUEUE_OPERATIONS {
            // CreateQueue is authorized before the queue, and its policy, exist.
            let policy = (action != "sqs:CreateQueue").then_some(policy);
            rows.push(subjects.queue_row(Owner::Own, *resource, action, arn, policy)?);
        }
    }
    for owner in Owner::FOREIGN {
        for action in FOREIGN_KEY_ATTACKS {
            let key = [(
                subjects.foreign_key_arn.as_str(),
                Some(&subjects.foreign_key_policy),
            )];
            rows.push(subjects.row(owner, Resource::Key, action, &key)?);
        }
        for action in FOREIGN_ALIAS_ATTACKS {
            // Another's alias, or (CreateAlias) a new alias pointed at another's key.
            let alias = match action {
                "kms:CreateAlias" => &subjects.alias_arn,
                _ => &subjects.foreign_alias_arn,
            };
            let foreign_key = (
                subjects.foreign_key_arn.as_str(),
                &subjects.foreign_key_policy,
            );
            let parts = subjects.alias_parts(action, alias, foreign_key);
            rows.push(subjects.row(owner, Resource::Alias, action, &parts)?);
        }
        for action in FOREIGN_QUEUE_ATTACKS {
            let arn = &subjects.foreign_queue_arn;
            rows.push(subjects.queue_row(owner, Resource::Queue, action, arn, None)?);
        }
    }
    Ok(rows)
}

impl<'a> Subjects<'a> {
    fn of(iam: &'a Value, plan: &'a Plan, q: &'a Resolved) -> Self {
        let key = |id| Arn::key(q.partition, &q.region, &q.account_id, id);
        Self {
            iam,
            operator: &q.operator_role_arn,
            organization: q.spec.organization_id.as_deref(),
            cluster: &q.tags[TAG_CLUSTER],
            key_arn: key(OWN_KEY_ID),
            key_policy: plan.key.policy.to_value(),
            alias_arn: plan.key.alias_arn.clone(),
            queues: [
                (
                    Resource::Queue,
                    plan.queue.arn.clone(),
                    plan.queue.attributes.policy.to_value(),
                ),
                (
                    Resource::DeadLetterQueue,
                    plan.dead_letter_queue.arn.clone(),
                    plan.dead_letter_queue.attributes.policy.to_value(),
                ),
            ],
            foreign_key_arn: key(FOREIGN_KEY_ID),
            foreign_key_policy: default_key_policy(&Arn::account_root(q.partition, &q.account_id)),
            // Under the alias and queue name prefixes too: a prefix is no protection of its own.
            foreign_alias_arn: format!("{}-not-ours", plan.key.alias_arn),
            foreign_queue_arn: format!("{}-not-ours", plan.queue.arn),
        }
    }

    /// The resources an alias call is authorized on: the alias itself (IAM alone decides), the
    /// key it names and, for UpdateAlias, the key it is moved to (the operator's own key, the
    /// attacker's best case), each by its key policy. "To create an alias, you need
    /// kms:CreateAlias permission for the alias (in an IAM policy) and for the KMS key (in a key
    /// policy or an IAM policy the key policy delegates to)"; UpdateAlias needs it "for the
    /// alias, the current KMS key and the new KMS key" (AWS KMS Developer Guide, "Controlling
    /// access to aliases", <https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html>).
    fn alias_parts<'s>(
        &'s self,
        action: &str,
        alias: &'s str,
        (key, policy): (&'s str, &'s Value),
    ) -> Vec<(&'s str, Option<&'s Value>)> {
        let mut parts = vec![(alias, None), (key, Some(policy))];
        if action == "kms:UpdateAlias" {
            parts.push((self.key_arn.as_str(), Some(&self.key_policy)));
        }
        parts
    }

    /// A row on KMS resources, or on none: each part is a resource and its key policy (`None`:
    /// IAM alone decides); the call is allowed only when every part is.
    fn row(
        &self,
        owner: Owner,
        resource: Resource,
        action: &str,
        parts: &[(&str, Option<&Value>)],
    ) -> Result<Row, Error> {
        let decisions = parts
            .iter()
            .map(|(arn, policy)| {
                let side = policy.map_or(ResourcePolicy::None, ResourcePolicy::Key);
                decide(self.iam, side, &self.request(owner, action, arn))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Self::checked(owner, resource, action, all_of(decisions)))
    }

    fn queue_row(
        &self,
        owner: Owner,
        resource: Resource,
        action: &str,
        arn: &str,
        policy: Option<&Value>,
    ) -> Result<Row, Error> {
        let request = self.request(owner, action, arn);
        let decision = decide(self.iam, ResourcePolicy::Queue(policy), &request)?;
        Ok(Self::checked(owner, resource, action, decision))
    }

    fn checked(owner: Owner, resource: Resource, action: &str, decision: Decision) -> Row {
        let must_be_allowed = owner == Owner::Own;
        Row {
            owner,
            resource,
            action: action.to_string(),
            must_be_allowed,
            holds: (decision.effect == Effect::Allowed) == must_be_allowed,
            decision,
        }
    }

    /// The operator's request, over TLS, from inside the SecureQueue's organization when it names
    /// one (the operator's account is the queues' account, which is in it). Tagging requests carry this cluster's tag (what an
    /// attacker would write). Another's resources carry their tags; the operator's own carry
    /// none, as right after creation, so no own operation may depend on them.
    fn request(&self, owner: Owner, action: &str, resource: &str) -> Request {
        let mut request = Request::new(Principal::Aws(self.operator.to_string()), action, resource)
            .with("aws:SecureTransport", "true")
            .with("aws:PrincipalArn", self.operator)
            .with(
                "aws:PrincipalAccount",
                self.operator.split(':').nth(4).unwrap_or_default(),
            );
        if action == "kms:CreateKey" {
            request = create_key_request(request);
        }
        if let Some(organization) = self.organization {
            request = request.with("aws:PrincipalOrgID", organization);
        }
        if action.ends_with(":TagResource") || action.ends_with(":TagQueue") {
            request = request
                .with(&format!("aws:RequestTag/{TAG_CLUSTER}"), self.cluster)
                .with("aws:TagKeys", TAG_CLUSTER);
        }
        let resource_tag = format!("aws:ResourceTag/{TAG_CLUSTER}");
        match owner {
            Owner::Own | Owner::Untagged => request,
            Owner::OtherCluster => request.with(&resource_tag, OTHER_CLUSTER),
            Owner::TaggedForThisCluster => request.with(&resource_tag, self.cluster),
        }
    }
}

/// A CreateKey request's condition keys, as the adapter sends them.
pub fn create_key_request(request: Request) -> Request {
    request
        .with("kms:KeySpec", CREATE_KEY.key_spec)
        .with("kms:KeyUsage", CREATE_KEY.key_usage)
        .with("kms:KeyOrigin", CREATE_KEY.origin)
        .with("kms:MultiRegion", &CREATE_KEY.multi_region.to_string())
        .with("kms:BypassPolicyLockoutSafetyCheck", "false")
}

/// The decision on a call authorized on several resources: allowed only when every one allows.
fn all_of(decisions: Vec<Decision>) -> Decision {
    let refused = decisions.iter().find(|d| d.effect != Effect::Allowed);
    let effect = refused.map_or(Effect::Allowed, |d| d.effect);
    let mut allowed_by = Vec::new();
    let mut denied_by = Vec::new();
    for d in &decisions {
        allowed_by.extend(d.allowed_by.iter().cloned());
        denied_by.extend(d.denied_by.iter().cloned());
    }
    Decision {
        effect,
        allowed_by,
        denied_by,
    }
}

/// The default key policy of a key made without one: the account's IAM policies decide every
/// action ("Enable IAM User Permissions", AWS KMS Developer Guide, "Default key policy",
/// <https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html>).
fn default_key_policy(account_root: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "Enable IAM User Permissions",
        "Effect": "Allow", "Principal": {"AWS": account_root},
        "Action": "kms:*", "Resource": "*"}]})
}
