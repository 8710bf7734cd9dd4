//! The operator's own least-privilege IAM policy: exactly the KMS, SQS and STS actions the AWS
//! adapters call that no policy of the operator's own grants, each scoped as far as AWS allows.
//!
//! **Keys.** The policy grants no key management at all. "Unless the key policy explicitly
//! allows it, you cannot use IAM policies to allow access to a KMS key" (AWS KMS Developer
//! Guide, "Key policies in AWS KMS",
//! <https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html>), and the key
//! policy the operator writes makes its role an administrator, so it manages its own keys
//! through that alone, while a key it did not make (whose key policy lets the account's IAM
//! policies decide, as the default one does) gets nothing from this policy but reads. Keys are
//! created without tags, which would need `kms:TagResource` in an IAM policy over every key of
//! the account (AWS KMS Developer Guide, "CreateKey: Add tags to a new KMS key",
//! <https://docs.aws.amazon.com/kms/latest/developerguide/manage-tags-api.html>), and tagged
//! right after through the key policy. An alias's own permission can only come from an IAM
//! policy; the key behind it must allow the change too ("kms:CreateAlias for the KMS key ...
//! must be provided in a key policy or in an IAM policy that is delegated from the key policy",
//! <https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html>), so no alias of a
//! key the operator does not administer can be created, moved or deleted.
//!
//! **Queues** are alike: the policy lets the operator create queues and read them under the
//! queue name prefix, and change none. A queue is created without tags, which would need
//! `sqs:TagQueue` in an IAM policy ("To add tags to a queue at creation, you must have
//! `sqs:CreateQueue` and `sqs:TagQueue` permissions", Amazon SQS API Reference, "CreateQueue",
//! <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html>),
//! and SQS has no condition key that tells a tag on create from a tag on any queue. The queue's
//! own policy, set in the same CreateQueue call, lets the operator's role tag, change and delete
//! that queue alone (`AllowTheOperatorToManageTheQueue`). CreateQueue itself cannot change a
//! queue that exists: given an existing name with other attributes it fails, and with the same
//! ones it returns the existing queue's URL (same page), so granting it under the prefix opens
//! no queue of another.
//!
//! `tests/iam_policy.rs` checks, with the evaluator, that every SDK call in `src/aws/` is allowed
//! on the operator's own resources by this policy and the operator's key and queue policies
//! together, that nothing here goes unused, and that the attacks on foreign keys fail.

use serde_json::Value;

use crate::arn::Arn;

use super::document::{IdentityStatement, PolicyDocument};

/// Where the operator may act.
#[derive(Clone, Debug)]
pub struct OperatorScope {
    /// `aws`, `aws-cn` or `aws-us-gov`.
    pub partition: String,
    /// The account of the keys and queues.
    pub account_id: String,
    /// The prefix of every queue name the operator may touch (empty: any).
    pub queue_name_prefix: String,
    /// The prefix of every key alias the operator may create, move or delete, `alias/...`
    /// (empty: any).
    pub key_alias_prefix: String,
}

/// The kind of key the operator creates, every parameter stated in the CreateKey call.
#[derive(Clone, Copy, Debug)]
pub struct KeyKind {
    /// `KeySpec`.
    pub key_spec: &'static str,
    /// `KeyUsage`.
    pub key_usage: &'static str,
    /// `Origin`.
    pub origin: &'static str,
    /// `MultiRegion`.
    pub multi_region: bool,
}

/// A symmetric encryption key with key material from KMS, in one region: what SQS encryption
/// needs, and the only kind of key the IAM policy lets the operator create.
pub const CREATE_KEY: KeyKind = KeyKind {
    key_spec: "SYMMETRIC_DEFAULT",
    key_usage: "ENCRYPT_DECRYPT",
    origin: "AWS_KMS",
    multi_region: false,
};

/// KMS calls that need no resource: listing, for the orphan-key search.
pub const KMS_LIST_ACTIONS: [&str; 2] = ["kms:ListAliases", "kms:ListKeys"];
/// KMS reads of any key: whose it is (its tags, or its description when a pass was cut off
/// before tagging it), for the orphan search and for an alias that names a key of another.
pub const KMS_KEY_READ_ACTIONS: [&str; 2] = ["kms:DescribeKey", "kms:ListResourceTags"];
/// KMS calls on aliases: the alias's side of the permission, which only IAM can give; the key's
/// side comes from the operator's own key policies.
pub const KMS_ALIAS_ACTIONS: [&str; 3] = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"];
/// SQS reads, needed on any queue under the prefix to tell whose it is.
pub const SQS_READ_ACTIONS: [&str; 3] = [
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ListQueueTags",
];

/// The policy document, as JSON.
pub fn operator_policy(scope: &OperatorScope) -> Value {
    serde_json::to_value(operator_policy_document(scope)).expect("the policy serializes")
}

/// The policy document.
pub fn operator_policy_document(scope: &OperatorScope) -> PolicyDocument<IdentityStatement> {
    let OperatorScope {
        partition,
        account_id,
        queue_name_prefix,
        key_alias_prefix,
    } = scope;
    let aliases = key_alias_prefix.strip_prefix("alias/").unwrap_or_default();
    let queues = Arn::queue(partition, "*", account_id, &format!("{queue_name_prefix}*"));
    PolicyDocument::new(vec![
        IdentityStatement::allow("FindKeysNoAliasPointsAt", &KMS_LIST_ACTIONS, "*"),
        create_key(IdentityStatement::allow(
            "CreateKeysWhoseKeyPolicyMakesTheOperatorTheirAdministrator",
            &["kms:CreateKey"],
            "*",
        )),
        IdentityStatement::allow(
            "ReadWhoseKeysTheyAre",
            &KMS_KEY_READ_ACTIONS,
            &Arn::key(partition, "*", account_id, "*"),
        ),
        IdentityStatement::allow(
            "ManageAliasesOfKeysTheOperatorAdministers",
            &KMS_ALIAS_ACTIONS,
            &Arn::alias(partition, "*", account_id, &format!("{aliases}*")),
        ),
        IdentityStatement::allow(
            "CreateQueuesWhoseQueuePolicyLetsTheOperatorManageThem",
            &["sqs:CreateQueue"],
            &queues,
        ),
        IdentityStatement::allow("ReadQueuesUnderThePrefix", &SQS_READ_ACTIONS, &queues),
        IdentityStatement::allow("KnowWhoTheOperatorIs", &["sts:GetCallerIdentity"], "*"),
    ])
}

/// The caller's side of working in bound accounts: the operator's own role may assume each
/// bound account's role (a SecureQueueAccount's `roleArn`), and no other. A cross-account
/// AssumeRole needs both this and the target role's trust policy ([`super::trust`]): "the
/// administrator of the trusting account ... and the administrator of the trusted account must
/// grant the user permission to switch to the role"
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_permissions-to-switch.html>).
pub fn assume_role_statements(role_arns: &[String]) -> Vec<IdentityStatement> {
    role_arns
        .iter()
        .map(|role| {
            let account = crate::arn::parse_role(role)
                .map(|r| r.arn.account.to_string())
                .unwrap_or_default();
            IdentityStatement::allow(
                &format!("AssumeTheRoleOfBoundAccount{account}"),
                &["sts:AssumeRole"],
                role,
            )
        })
        .collect()
}

/// CreateKey names no resource, so AWS lets no policy scope it to keys; these conditions narrow
/// it as far as AWS allows: only the one kind of key the operator makes, and never with the key
/// policy lockout safety check bypassed (AWS KMS Developer Guide, "AWS KMS condition keys":
/// `kms:KeySpec`, `kms:KeyUsage`, `kms:KeyOrigin`, `kms:MultiRegion`,
/// `kms:BypassPolicyLockoutSafetyCheck`,
/// <https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html>).
fn create_key(statement: IdentityStatement) -> IdentityStatement {
    statement
        .when("StringEquals", "kms:KeySpec", [CREATE_KEY.key_spec])
        .when("StringEquals", "kms:KeyUsage", [CREATE_KEY.key_usage])
        .when("StringEquals", "kms:KeyOrigin", [CREATE_KEY.origin])
        .when(
            "Bool",
            "kms:MultiRegion",
            [CREATE_KEY.multi_region.to_string()],
        )
        .when(
            "BoolIfExists",
            "kms:BypassPolicyLockoutSafetyCheck",
            ["false"],
        )
}

/// Every action the policy allows.
pub fn actions(policy: &Value) -> Vec<String> {
    let mut actions: Vec<String> = policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    actions.sort();
    actions.dedup();
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> OperatorScope {
        OperatorScope {
            partition: "aws".into(),
            account_id: "111122223333".into(),
            queue_name_prefix: "team-".into(),
            key_alias_prefix: "alias/securequeue/".into(),
        }
    }

    fn statements() -> Vec<Value> {
        operator_policy(&scope())["Statement"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// The actions of a statement that change something.
    fn writes(statement: &Value) -> Vec<&str> {
        statement["Action"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a.as_str())
            .filter(|a| !a.contains(":Get") && !a.contains(":List") && !a.contains(":Describe"))
            .collect()
    }

    #[test]
    fn single_actions_stay_lists_and_statements_name_no_principal() {
        let policy = operator_policy(&scope());
        assert_eq!(policy["Version"], super::super::document::POLICY_VERSION);
        for statement in statements() {
            assert!(statement["Action"].is_array(), "{statement}");
            assert!(statement.get("Principal").is_none(), "{statement}");
        }
    }

    #[test]
    fn no_key_is_managed_through_iam() {
        for statement in statements() {
            let resource = statement["Resource"].as_str().unwrap();
            for action in writes(&statement)
                .into_iter()
                .filter(|a| a.starts_with("kms:"))
            {
                let alias_side = KMS_ALIAS_ACTIONS.contains(&action)
                    && resource == "arn:aws:kms:*:111122223333:alias/securequeue/*";
                assert!(
                    action == "kms:CreateKey" || alias_side,
                    "{action} on {resource}"
                );
            }
        }
    }

    #[test]
    fn no_queue_is_changed_through_iam() {
        for statement in statements() {
            for action in writes(&statement)
                .into_iter()
                .filter(|a| a.starts_with("sqs:"))
            {
                assert_eq!(action, "sqs:CreateQueue", "{statement}");
            }
        }
    }

    #[test]
    fn the_operator_may_assume_the_bound_roles_and_no_other() {
        use crate::iam::{Effect, Kind, Principal, Request, evaluate_as};
        let bound = "arn:aws:iam::222233334444:role/securequeue-target".to_string();
        let mut policy = operator_policy_document(&scope());
        policy
            .statement
            .extend(assume_role_statements(std::slice::from_ref(&bound)));
        let decide = |role: &str| {
            let request = Request::new(
                Principal::Aws("arn:aws:iam::111122223333:role/securequeue-operator".into()),
                "sts:AssumeRole",
                role,
            );
            evaluate_as(Kind::Identity, &policy.to_value(), &request)
                .unwrap()
                .effect
        };
        assert_eq!(decide(&bound), Effect::Allowed);
        for other in [
            "arn:aws:iam::222233334444:role/admin",
            "arn:aws:iam::333344445555:role/securequeue-target",
        ] {
            assert_eq!(decide(other), Effect::ImplicitDeny, "{other}");
        }
        let without = operator_policy_document(&scope());
        assert!(!without.to_compact_json().contains("sts:AssumeRole"));
    }

    #[test]
    fn queues_are_scoped_to_the_prefix_and_account() {
        let policy = operator_policy(&scope());
        let resources: Vec<&str> = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["Action"].to_string().contains("sqs:"))
            .map(|s| s["Resource"].as_str().unwrap())
            .collect();
        assert!(!resources.is_empty());
        assert!(
            resources
                .iter()
                .all(|r| *r == "arn:aws:sqs:*:111122223333:team-*")
        );
    }
}
