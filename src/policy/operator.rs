//! The operator's own least-privilege IAM policy: exactly the KMS, SQS and STS actions the AWS
//! adapters call, each scoped as far as AWS allows. Keys and queues are only changed when they
//! carry this cluster's ownership tag, and only created with it; queues only under the queue
//! name prefix. `tests/iam_policy.rs` checks that every SDK call in `src/aws/` is here and
//! nothing else is.

use serde_json::{Value, json};

use crate::resolve::TAG_CLUSTER;

/// Where the operator may act.
#[derive(Clone, Debug)]
pub struct OperatorScope {
    /// `aws`, `aws-cn` or `aws-us-gov`.
    pub partition: String,
    /// The account of the keys and queues.
    pub account_id: String,
    /// The cluster id the operator writes into `securequeue.io/cluster`.
    pub cluster_id: String,
    /// The prefix of every queue name the operator may touch (empty: any).
    pub queue_name_prefix: String,
}

/// KMS calls that need no resource: listing, for the orphan-key search.
pub const KMS_LIST_ACTIONS: [&str; 2] = ["kms:ListAliases", "kms:ListKeys"];
/// KMS calls on keys this cluster owns.
pub const KMS_KEY_ACTIONS: [&str; 15] = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
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
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
];
/// KMS calls on aliases (which carry no tags; the key side is checked by the statement above).
pub const KMS_ALIAS_ACTIONS: [&str; 3] = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"];
/// SQS reads, needed on any queue under the prefix to tell whose it is.
pub const SQS_READ_ACTIONS: [&str; 3] = [
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ListQueueTags",
];
/// SQS writes on queues this cluster owns.
pub const SQS_WRITE_ACTIONS: [&str; 4] = [
    "sqs:DeleteQueue",
    "sqs:SetQueueAttributes",
    "sqs:TagQueue",
    "sqs:UntagQueue",
];

/// The policy document.
pub fn operator_policy(scope: &OperatorScope) -> Value {
    let OperatorScope {
        partition,
        account_id,
        cluster_id,
        queue_name_prefix,
    } = scope;
    let request_tag = format!("aws:RequestTag/{TAG_CLUSTER}");
    let resource_tag = format!("aws:ResourceTag/{TAG_CLUSTER}");
    let queues = format!("arn:{partition}:sqs:*:{account_id}:{queue_name_prefix}*");
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FindKeysNoAliasPointsAt",
                "Effect": "Allow",
                "Action": KMS_LIST_ACTIONS,
                "Resource": "*"
            },
            {
                "Sid": "CreateKeysOnlyWithThisClustersTag",
                "Effect": "Allow",
                "Action": ["kms:CreateKey", "kms:TagResource"],
                "Resource": "*",
                "Condition": {"StringEquals": {request_tag.clone(): cluster_id}}
            },
            {
                "Sid": "ManageOnlyThisClustersKeys",
                "Effect": "Allow",
                "Action": KMS_KEY_ACTIONS,
                "Resource": format!("arn:{partition}:kms:*:{account_id}:key/*"),
                "Condition": {"StringEquals": {resource_tag.clone(): cluster_id}}
            },
            {
                "Sid": "ManageAliasesOfThoseKeys",
                "Effect": "Allow",
                "Action": KMS_ALIAS_ACTIONS,
                "Resource": format!("arn:{partition}:kms:*:{account_id}:alias/*")
            },
            {
                "Sid": "CreateQueuesOnlyWithThisClustersTag",
                "Effect": "Allow",
                "Action": ["sqs:CreateQueue", "sqs:TagQueue"],
                "Resource": queues.clone(),
                "Condition": {"StringEquals": {request_tag: cluster_id}}
            },
            {
                "Sid": "ReadQueuesUnderThePrefix",
                "Effect": "Allow",
                "Action": SQS_READ_ACTIONS,
                "Resource": queues.clone()
            },
            {
                "Sid": "ChangeOnlyThisClustersQueues",
                "Effect": "Allow",
                "Action": SQS_WRITE_ACTIONS,
                "Resource": queues,
                "Condition": {"StringEquals": {resource_tag: cluster_id}}
            },
            {
                "Sid": "KnowWhoTheOperatorIs",
                "Effect": "Allow",
                "Action": ["sts:GetCallerIdentity"],
                "Resource": "*"
            }
        ]
    })
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
            cluster_id: "prod".into(),
            queue_name_prefix: "team-".into(),
        }
    }

    #[test]
    fn every_write_is_conditioned_on_this_clusters_tag() {
        let policy = operator_policy(&scope());
        for statement in policy["Statement"].as_array().unwrap() {
            let sid = statement["Sid"].as_str().unwrap();
            let writes = statement["Action"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|a| a.as_str())
                .any(|a| !a.contains(":Get") && !a.contains(":List") && !a.contains(":Describe"));
            if writes && !sid.starts_with("ManageAliases") && sid != "KnowWhoTheOperatorIs" {
                let condition = statement["Condition"]["StringEquals"].as_object().unwrap();
                assert_eq!(condition.values().next().unwrap(), "prod", "{sid}");
            }
        }
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
