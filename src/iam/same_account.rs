//! A principal's request on a resource of its own account, judged by its identity (IAM) policy
//! together with the resource's policy, as AWS documents the two rules:
//!
//! - **The union, for most services (SQS):** "If an action is allowed by an identity-based
//!   policy, a resource-based policy, or both, then AWS allows the action. An explicit deny in
//!   either of these policies overrides the allow." (IAM User Guide, "Policy evaluation logic",
//!   section "Evaluating identity-based policies with resource-based policies",
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>)
//! - **KMS is the exception:** "Unless the key policy explicitly allows it, you cannot use IAM
//!   policies to allow access to a KMS key. Without permission from the key policy, IAM policies
//!   that allow permissions have no effect. (You can use an IAM policy to deny a permission to a
//!   KMS key without permission from a key policy.)" (AWS KMS Developer Guide, "Key policies in
//!   AWS KMS", <https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html>). A key
//!   policy allows the account to use IAM policies by naming the account's root as principal
//!   (the default key policy's "Enable IAM User Permissions" statement), action by action.
//!
//! In both, a resource policy that names the account grants no principal anything by itself: it
//! leaves the decision to the account's IAM policies.

use serde_json::Value;

use super::decision::{Decision, Effect, evaluate_as};
use super::error::Error;
use super::request::{Principal, Request};
use super::statement::Kind;

/// The resource's side of a request.
#[derive(Clone, Copy, Debug)]
pub enum ResourcePolicy<'a> {
    /// An SQS queue's policy; `None` for a queue without one.
    Queue(Option<&'a Value>),
    /// A KMS key's key policy (every key has one).
    Key(&'a Value),
    /// No resource policy at all: IAM alone decides (a KMS alias, whose own permission is IAM's
    /// alone; the key behind it is judged separately).
    None,
}

/// A decision over both policies, each side's statements prefixed `identity:` or `resource:`.
pub fn decide(
    identity: &Value,
    resource: ResourcePolicy<'_>,
    request: &Request,
) -> Result<Decision, Error> {
    let iam = evaluate_as(Kind::Identity, identity, request)?;
    let (own, delegated) = match resource {
        ResourcePolicy::None | ResourcePolicy::Queue(None) => (None, true),
        ResourcePolicy::Queue(Some(policy)) => (
            Some(evaluate_as(Kind::ResourceDelegating, policy, request)?),
            true,
        ),
        ResourcePolicy::Key(policy) => {
            let direct = evaluate_as(Kind::ResourceDelegating, policy, request)?;
            let root = Request {
                principal: account_root(&request.principal)?,
                ..request.clone()
            };
            let enabled =
                evaluate_as(Kind::ResourceDelegating, policy, &root)?.effect == Effect::Allowed;
            (Some(direct), enabled)
        }
    };
    let (mut allowed_by, mut denied_by) = (Vec::new(), Vec::new());
    let mut record = |side: &str, d: &Decision, allow_counts: bool| {
        denied_by.extend(d.denied_by.iter().map(|s| format!("{side}:{s}")));
        if allow_counts {
            allowed_by.extend(d.allowed_by.iter().map(|s| format!("{side}:{s}")));
        }
    };
    record("identity", &iam, delegated);
    if let Some(own) = &own {
        record("resource", own, true);
    }
    Ok(Decision::of(allowed_by, denied_by))
}

/// The root principal of the requester's account: `arn:<partition>:iam::<account>:root`.
fn account_root(principal: &Principal) -> Result<Principal, Error> {
    let Principal::Aws(arn) = principal else {
        return Err(Error::NoAccount);
    };
    let fields: Vec<&str> = arn.split(':').collect();
    match fields.as_slice() {
        ["arn", partition, _, _, account, ..] => Ok(Principal::Aws(format!(
            "arn:{partition}:iam::{account}:root"
        ))),
        _ => Err(Error::NotAnArn(arn.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ROLE: &str = "arn:aws:iam::111122223333:role/operator";
    const QUEUE: &str = "arn:aws:sqs:us-east-1:111122223333:q";
    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k";

    fn request(action: &str, resource: &str) -> Request {
        Request::new(Principal::Aws(ROLE.into()), action, resource)
    }

    fn iam(statements: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    /// The default key policy of a key made without one: the account may use IAM policies.
    fn default_key_policy() -> Value {
        json!({"Statement": [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}]})
    }

    #[test]
    fn for_a_queue_an_allow_in_either_policy_grants() {
        let allow_iam = iam(
            json!([{"Effect": "Allow", "Action": "sqs:SetQueueAttributes", "Resource": QUEUE}]),
        );
        let none = iam(json!([]));
        let queue_allows = json!({"Statement": [{"Sid": "Op", "Effect": "Allow", "Principal": {"AWS": ROLE},
            "Action": "sqs:SetQueueAttributes", "Resource": QUEUE}]});
        let r = request("sqs:SetQueueAttributes", QUEUE);
        let effect = |identity: &Value, resource| decide(identity, resource, &r).unwrap().effect;
        assert_eq!(
            effect(&allow_iam, ResourcePolicy::Queue(None)),
            Effect::Allowed
        );
        assert_eq!(
            effect(&none, ResourcePolicy::Queue(Some(&queue_allows))),
            Effect::Allowed
        );
        assert_eq!(
            effect(&none, ResourcePolicy::Queue(None)),
            Effect::ImplicitDeny
        );
    }

    #[test]
    fn a_deny_in_either_policy_refuses() {
        let allow_iam = iam(json!([{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]));
        let deny_iam = iam(json!([
            {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
            {"Sid": "No", "Effect": "Deny", "Action": "sqs:DeleteQueue", "Resource": "*"}
        ]));
        let queue_denies = json!({"Statement": [{"Sid": "Admins", "Effect": "Deny", "Principal": "*",
            "Action": "sqs:DeleteQueue", "Resource": QUEUE}]});
        let r = request("sqs:DeleteQueue", QUEUE);
        let denied = decide(&allow_iam, ResourcePolicy::Queue(Some(&queue_denies)), &r).unwrap();
        assert_eq!(denied.effect, Effect::ExplicitDeny);
        assert_eq!(denied.denied_by, ["resource:Admins"]);
        let denied = decide(&deny_iam, ResourcePolicy::Queue(None), &r).unwrap();
        assert_eq!(denied.denied_by, ["identity:No"]);
    }

    #[test]
    fn a_queue_policy_naming_the_account_grants_nothing_by_itself() {
        let account = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "111122223333"},
            "Action": "sqs:*", "Resource": QUEUE}]});
        let r = request("sqs:SendMessage", QUEUE);
        let decision = decide(&iam(json!([])), ResourcePolicy::Queue(Some(&account)), &r).unwrap();
        assert_eq!(decision.effect, Effect::ImplicitDeny);
    }

    #[test]
    fn for_a_key_an_iam_allow_counts_only_where_the_key_policy_lets_the_account_use_iam() {
        let allow_iam =
            iam(json!([{"Effect": "Allow", "Action": "kms:PutKeyPolicy", "Resource": "*"}]));
        let r = request("kms:PutKeyPolicy", KEY);
        let with_default =
            decide(&allow_iam, ResourcePolicy::Key(&default_key_policy()), &r).unwrap();
        assert_eq!(with_default.effect, Effect::Allowed);
        // A key policy whose root statement only reads: IAM cannot grant PutKeyPolicy.
        let reads_only = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": ["kms:Describe*", "kms:Get*", "kms:List*"], "Resource": "*"}]});
        let refused = decide(&allow_iam, ResourcePolicy::Key(&reads_only), &r).unwrap();
        assert_eq!(refused.effect, Effect::ImplicitDeny);
        let describe = request("kms:DescribeKey", KEY);
        let read_iam =
            iam(json!([{"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"}]));
        assert_eq!(
            decide(&read_iam, ResourcePolicy::Key(&reads_only), &describe)
                .unwrap()
                .effect,
            Effect::Allowed
        );
    }

    #[test]
    fn a_key_policy_naming_the_role_grants_without_iam() {
        let names_role = json!({"Statement": [{"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": ROLE},
            "Action": "kms:TagResource", "Resource": "*"}]});
        let r = request("kms:TagResource", KEY);
        let decision = decide(&iam(json!([])), ResourcePolicy::Key(&names_role), &r).unwrap();
        assert_eq!(decision.effect, Effect::Allowed);
        assert_eq!(decision.allowed_by, ["resource:Admin"]);
        // An IAM Deny holds even so.
        let deny = iam(
            json!([{"Sid": "No", "Effect": "Deny", "Action": "kms:TagResource", "Resource": "*"}]),
        );
        assert_eq!(
            decide(&deny, ResourcePolicy::Key(&names_role), &r)
                .unwrap()
                .effect,
            Effect::ExplicitDeny
        );
    }

    #[test]
    fn identity_policies_name_no_principal() {
        let wrong =
            iam(json!([{"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": "*"}]));
        let r = request("sqs:SendMessage", QUEUE);
        assert!(decide(&wrong, ResourcePolicy::None, &r).is_err());
    }
}
