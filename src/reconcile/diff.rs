//! What differs between the plan and what AWS has: queue attributes and tags, compared by
//! meaning, not by spelling.

use std::collections::{BTreeMap, BTreeSet};

use crate::policy::normalize;

/// SQS attributes whose values are integers: `"60"` and `"060"` are the same setting.
const INTEGER_ATTRIBUTES: [&str; 6] = [
    "DelaySeconds",
    "KmsDataKeyReusePeriodSeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
];

/// SQS attributes that only CreateQueue can set.
pub const CREATE_ONLY_ATTRIBUTES: [&str; 1] = ["FifoQueue"];

/// Whether AWS's value of one attribute means what the plan's does.
pub fn same_attribute(name: &str, desired: &str, observed: Option<&str>) -> bool {
    let Some(observed) = observed else {
        return false;
    };
    match name {
        "Policy" => normalize::same_policy(desired, observed),
        "RedrivePolicy" | "RedriveAllowPolicy" => normalize::same_redrive(desired, observed),
        "FifoQueue" | "ContentBasedDeduplication" => desired.eq_ignore_ascii_case(observed),
        _ if INTEGER_ATTRIBUTES.contains(&name) => {
            match (
                desired.trim().parse::<i64>(),
                observed.trim().parse::<i64>(),
            ) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            }
        }
        _ => desired == observed,
    }
}

/// The planned attributes whose values AWS does not have.
pub fn attribute_changes(
    desired: &BTreeMap<String, String>,
    observed: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    desired
        .iter()
        .filter(|(name, value)| {
            !same_attribute(name, value, observed.get(*name).map(String::as_str))
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// The tag writes that make a resource's tags exactly the plan's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagChanges {
    /// Tags to add or overwrite.
    pub set: BTreeMap<String, String>,
    /// Tag keys to remove.
    pub remove: BTreeSet<String>,
}

impl TagChanges {
    /// Whether nothing needs writing.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }

    /// The tag keys touched, for reports.
    pub fn keys(&self) -> Vec<&str> {
        self.set
            .keys()
            .chain(self.remove.iter())
            .map(String::as_str)
            .collect()
    }
}

/// Tags to set and remove; `aws:` tags belong to AWS and are never removed.
pub fn tag_changes(
    desired: &BTreeMap<String, String>,
    observed: &BTreeMap<String, String>,
) -> TagChanges {
    TagChanges {
        set: desired
            .iter()
            .filter(|(k, v)| observed.get(*k) != Some(v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        remove: observed
            .keys()
            .filter(|k| !desired.contains_key(*k) && !k.starts_with("aws:"))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn equal_meanings_make_no_changes() {
        let desired = map(&[
            ("VisibilityTimeout", "30"),
            ("FifoQueue", "true"),
            (
                "RedrivePolicy",
                r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:d","maxReceiveCount":5}"#,
            ),
            ("KmsMasterKeyId", "arn:aws:kms:us-east-1:1:alias/a"),
        ]);
        let observed = map(&[
            ("VisibilityTimeout", " 30"),
            ("FifoQueue", "True"),
            (
                "RedrivePolicy",
                r#"{"maxReceiveCount": "5", "deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:d"}"#,
            ),
            ("KmsMasterKeyId", "arn:aws:kms:us-east-1:1:alias/a"),
            ("ApproximateNumberOfMessages", "12"),
        ]);
        assert!(attribute_changes(&desired, &observed).is_empty());
    }

    #[test]
    fn changed_and_missing_attributes_are_changes() {
        let desired = map(&[
            ("VisibilityTimeout", "30"),
            (
                "RedrivePolicy",
                r#"{"deadLetterTargetArn":"d","maxReceiveCount":5}"#,
            ),
            ("KmsMasterKeyId", "arn:aws:kms:us-east-1:1:alias/a"),
        ]);
        let observed = map(&[
            ("VisibilityTimeout", "31"),
            ("KmsMasterKeyId", "alias/aws/sqs"),
        ]);
        let changes = attribute_changes(&desired, &observed);
        assert_eq!(changes, desired);
    }

    #[test]
    fn tags_are_made_exact_but_aws_tags_stay() {
        let desired = map(&[("team", "a"), ("securequeue.io/uid", "new")]);
        let observed = map(&[
            ("team", "a"),
            ("securequeue.io/uid", "old"),
            ("added-by-hand", "x"),
            ("aws:cloudformation:stack-name", "s"),
        ]);
        let changes = tag_changes(&desired, &observed);
        assert_eq!(changes.set, map(&[("securequeue.io/uid", "new")]));
        assert_eq!(
            changes.remove,
            BTreeSet::from(["added-by-hand".to_string()])
        );
        assert!(tag_changes(&desired, &desired).is_empty());
    }
}
