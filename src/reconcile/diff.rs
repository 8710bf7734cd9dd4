//! What differs between the plan and what AWS has: queue attributes and tags, compared by
//! meaning, not by spelling, and each difference as a path with its old and new value.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::policy::normalize;

/// One value that differs, at a path such as `Policy.Statement[Sid=DenyUnsecureTransport].Effect`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// Where: the attribute, tag or document field, statements named by their Sid.
    pub path: String,
    /// The value in AWS; `None` where there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    /// The value the spec asks for; `None` where it asks for none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |v: &Option<Value>| v.as_ref().map_or("(none)".to_string(), Value::to_string);
        write!(
            f,
            "{}: {} -> {}",
            self.path,
            shown(&self.old),
            shown(&self.new)
        )
    }
}

/// The differences between two JSON values under `path`: objects field by field, arrays of
/// statements by Sid, anything else whole.
pub fn json_differences(path: &str, old: Option<&Value>, new: Option<&Value>) -> Vec<Difference> {
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            names
                .into_iter()
                .flat_map(|name| {
                    json_differences(&format!("{path}.{name}"), a.get(name), b.get(name))
                })
                .collect()
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => match (by_sid(a), by_sid(b)) {
            (Some(a), Some(b)) => {
                let sids: BTreeSet<&str> = a.keys().chain(b.keys()).copied().collect();
                sids.into_iter()
                    .flat_map(|sid| {
                        json_differences(
                            &format!("{path}[Sid={sid}]"),
                            a.get(sid).copied(),
                            b.get(sid).copied(),
                        )
                    })
                    .collect()
            }
            _ => whole(path, old, new),
        },
        _ => whole(path, old, new),
    }
}

/// The one difference of two values compared whole, or none when they are equal.
fn whole(path: &str, old: Option<&Value>, new: Option<&Value>) -> Vec<Difference> {
    if old == new {
        return Vec::new();
    }
    vec![Difference {
        path: path.to_string(),
        old: old.cloned(),
        new: new.cloned(),
    }]
}

/// The statements of a list by Sid, when every one has a Sid of its own.
fn by_sid(list: &[Value]) -> Option<BTreeMap<&str, &Value>> {
    let named: BTreeMap<&str, &Value> = list
        .iter()
        .map(|s| Some((s.get("Sid")?.as_str()?, s)))
        .collect::<Option<_>>()?;
    (named.len() == list.len()).then_some(named)
}

/// The differences of one document attribute (a policy or a redrive document), in canonical
/// form so that only meaning shows; a document that is not JSON differs whole.
pub fn document_differences(name: &str, old: Option<&str>, new: &str) -> Vec<Difference> {
    let canonical = |text: &str| match name {
        "RedrivePolicy" | "RedriveAllowPolicy" => normalize::canonical_redrive(text),
        _ => normalize::canonical_policy(text),
    };
    let parsed = |text: &str| canonical(text).unwrap_or_else(|| Value::String(text.to_string()));
    let old = old.map(parsed);
    json_differences(name, old.as_ref(), Some(&parsed(new)))
}

/// The differences of queue attributes: documents field by field, other attributes whole.
pub fn attribute_differences(
    changes: &BTreeMap<String, String>,
    observed: &BTreeMap<String, String>,
) -> Vec<Difference> {
    changes
        .iter()
        .flat_map(|(name, new)| {
            let old = observed.get(name).map(String::as_str);
            match name.as_str() {
                "Policy" | "RedrivePolicy" | "RedriveAllowPolicy" => {
                    document_differences(name, old, new)
                }
                _ => vec![Difference {
                    path: name.clone(),
                    old: old.map(|v| Value::String(v.to_string())),
                    new: Some(Value::String(new.clone())),
                }],
            }
        })
        .collect()
}

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

    /// Each tag set or removed, at `Tags.<key>`.
    pub fn differences(&self, observed: &BTreeMap<String, String>) -> Vec<Difference> {
        let tag = |key: &str, new: Option<&String>| Difference {
            path: format!("Tags.{key}"),
            old: observed.get(key).cloned().map(Value::String),
            new: new.cloned().map(Value::String),
        };
        self.set
            .iter()
            .map(|(key, value)| tag(key, Some(value)))
            .chain(self.remove.iter().map(|key| tag(key, None)))
            .collect()
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
    fn policy_differences_name_statements_by_sid_and_fields_by_path() {
        let old = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Open","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"q"}]}"#;
        let new = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Send","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:role/p"},"Action":"sqs:SendMessage","Resource":"q"}]}"#;
        let paths: Vec<String> = document_differences("Policy", Some(old), new)
            .iter()
            .map(|d| d.path.clone())
            .collect();
        assert_eq!(
            paths,
            ["Policy.Statement[Sid=Open]", "Policy.Statement[Sid=Send]"]
        );
        let changed = old.replace("\"Allow\"", "\"Deny\"");
        let differences = document_differences("Policy", Some(old), &changed);
        assert_eq!(differences.len(), 1);
        assert_eq!(differences[0].path, "Policy.Statement[Sid=Open].Effect");
        assert_eq!(
            differences[0].to_string(),
            r#"Policy.Statement[Sid=Open].Effect: "Allow" -> "Deny""#
        );
        assert!(document_differences("Policy", Some(old), old).is_empty());
        assert_eq!(document_differences("Policy", None, new)[0].old, None);
    }

    #[test]
    fn scalar_attributes_and_tags_differ_whole() {
        let observed = map(&[("VisibilityTimeout", "31"), ("team", "a")]);
        let changes = map(&[("VisibilityTimeout", "30")]);
        let shown: Vec<String> = attribute_differences(&changes, &observed)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, [r#"VisibilityTimeout: "31" -> "30""#]);
        let tags = tag_changes(&map(&[("owner", "b")]), &observed);
        let shown: Vec<String> = tags
            .differences(&observed)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                r#"Tags.owner: (none) -> "b""#,
                r#"Tags.VisibilityTimeout: "31" -> (none)"#,
                r#"Tags.team: "a" -> (none)"#
            ]
        );
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
