//! The IAM policy language as typed values: what a key policy or a queue policy is made of.
//!
//! Documents are built from these types, never from string templates, and serialize
//! deterministically: statements in the order the generator wrote them, principal and condition
//! values sorted and de-duplicated, condition operators and keys in lexical order. A list of one
//! value serializes as a plain string, as AWS itself returns it.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// The only policy language version; SQS can hang on a create whose policy lacks it.
pub const POLICY_VERSION: &str = "2012-10-17";

/// A resource-based policy (a KMS key policy or an SQS queue policy), or with
/// [`IdentityStatement`]s an IAM identity policy, such as the operator's own.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument<S = Statement> {
    /// Always [`POLICY_VERSION`].
    pub version: String,
    /// The policy's identifier: on a queue policy, the owner's mark (see
    /// [`crate::resolve::queue_policy_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The statements, in the order they were generated.
    pub statement: Vec<S>,
}

impl<S: Serialize> PolicyDocument<S> {
    /// A document holding these statements.
    pub fn new(statement: Vec<S>) -> Self {
        Self {
            version: POLICY_VERSION.to_string(),
            id: None,
            statement,
        }
    }

    /// The document with this identifier.
    pub fn with_id(mut self, id: String) -> Self {
        self.id = Some(id);
        self
    }

    /// The compact JSON AWS stores and counts against its size quotas.
    pub fn to_compact_json(&self) -> String {
        serde_json::to_string(self).expect("a policy document always serializes")
    }

    /// The document as a JSON value, as the evaluator reads policies.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a policy document always serializes")
    }
}

/// A finished document as the compact JSON AWS stores: what a plan keeps. A typed document
/// takes several times the memory (each condition is a B-tree map of about 500 bytes however few
/// entries it holds), and a pass holds its plan for as long as it waits for a quota: minutes for
/// a backlog of new SecureQueues. It serializes as the typed document it was made from, in the
/// same order, not as a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactDocument(Box<str>);

impl CompactDocument {
    /// The compact JSON, as sent to AWS.
    pub fn as_json(&self) -> &str {
        &self.0
    }

    /// The document as a JSON value, as the evaluator reads policies.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).expect("a compact document is JSON made by serde_json")
    }

    /// The document typed again, to look into its statements.
    pub fn typed(&self) -> PolicyDocument {
        serde_json::from_str(&self.0).expect("a compact document is a policy made by serde_json")
    }
}

impl<S: Serialize> From<&PolicyDocument<S>> for CompactDocument {
    fn from(document: &PolicyDocument<S>) -> Self {
        Self(document.to_compact_json().into_boxed_str())
    }
}

impl Serialize for CompactDocument {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        self.typed().serialize(serializer)
    }
}

impl PolicyDocument {
    /// The statement with this Sid, if any.
    pub fn statement(&self, sid: &str) -> Option<&Statement> {
        self.statement.iter().find(|s| s.sid == sid)
    }
}

/// One statement of a policy.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    /// The statement's name, as the AWS guidance spells it.
    pub sid: String,
    /// Allow or Deny.
    pub effect: Effect,
    /// Whom the statement is about.
    pub principal: Principal,
    /// The actions, in the guidance's order.
    pub action: Values,
    /// The queue ARN, or `*` (this key) in a key policy.
    pub resource: String,
    /// Conditions, all of which must hold for the statement to apply.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub condition: Conditions,
}

/// Condition operator → condition key → values. Keys under one operator, and operators, are
/// ANDed; the values of one key are ORed.
pub type Conditions = BTreeMap<String, BTreeMap<String, Values>>;

/// Adds `operator: {key: values}` to `conditions`; values are sorted and de-duplicated.
pub(crate) fn add_condition<I, S>(conditions: &mut Conditions, operator: &str, key: &str, values: I)
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    conditions
        .entry(operator.to_string())
        .or_default()
        .insert(key.to_string(), Values::set(values));
}

impl Statement {
    /// An Allow statement without conditions.
    pub fn allow(sid: &str, principal: Principal, actions: &[&str], resource: &str) -> Self {
        Self::new(sid, Effect::Allow, principal, actions, resource)
    }

    /// A Deny statement without conditions.
    pub fn deny(sid: &str, principal: Principal, actions: &[&str], resource: &str) -> Self {
        Self::new(sid, Effect::Deny, principal, actions, resource)
    }

    fn new(
        sid: &str,
        effect: Effect,
        principal: Principal,
        actions: &[&str],
        resource: &str,
    ) -> Self {
        Self {
            sid: sid.to_string(),
            effect,
            principal,
            action: Values::ordered(actions.iter().map(|a| a.to_string())),
            resource: resource.to_string(),
            condition: Conditions::new(),
        }
    }

    /// Adds `operator: {key: values}`; values are sorted and de-duplicated.
    pub fn when<I, S>(mut self, operator: &str, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        add_condition(&mut self.condition, operator, key, values);
        self
    }
}

/// One statement of an IAM identity policy: no Principal (the policy is attached to it), and
/// the actions always a list.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct IdentityStatement {
    /// The statement's name.
    pub sid: String,
    /// Allow or Deny.
    pub effect: Effect,
    /// The actions, in the order given.
    pub action: Vec<String>,
    /// The resource ARN pattern, or `*`.
    pub resource: String,
    /// Conditions, all of which must hold for the statement to apply.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub condition: Conditions,
}

impl IdentityStatement {
    /// An Allow statement without conditions.
    pub fn allow(sid: &str, actions: &[&str], resource: &str) -> Self {
        Self {
            sid: sid.to_string(),
            effect: Effect::Allow,
            action: actions.iter().map(|a| a.to_string()).collect(),
            resource: resource.to_string(),
            condition: Conditions::new(),
        }
    }

    /// Adds `operator: {key: values}`; values are sorted and de-duplicated.
    pub fn when<I, S>(mut self, operator: &str, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        add_condition(&mut self.condition, operator, key, values);
        self
    }
}

/// Allow or Deny.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Grants the actions, unless a Deny also applies.
    Allow,
    /// Refuses the actions, whatever any Allow says.
    Deny,
}

/// The `Principal` element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// `"*"`: every principal, AWS accounts and services alike.
    Everyone,
    /// `{"AWS": [...]}`: IAM principals by ARN, or `"*"` for every one of them.
    Aws(Values),
    /// `{"Service": [...]}`: AWS service principals such as `sns.amazonaws.com`.
    Service(Values),
}

impl Principal {
    /// `{"AWS": "*"}`, the principal of the guidance's Deny statements.
    pub fn any_aws() -> Self {
        Principal::Aws(Values::set(["*"]))
    }

    /// `{"AWS": [arns]}`, sorted and de-duplicated.
    pub fn aws<I, S>(arns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Principal::Aws(Values::set(arns))
    }

    /// `{"Service": service}`.
    pub fn service(name: &str) -> Self {
        Principal::Service(Values::set([name]))
    }

    /// How many principals are named, `"*"` counting as one (as the SQS quota counts them).
    pub fn count(&self) -> usize {
        match self {
            Principal::Everyone => 1,
            Principal::Aws(v) | Principal::Service(v) => v.len(),
        }
    }
}

impl Serialize for Principal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Principal::Everyone => serializer.serialize_str("*"),
            Principal::Aws(values) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("AWS", values)?;
                map.end()
            }
            Principal::Service(values) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("Service", values)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Star(String),
            Map(BTreeMap<String, Values>),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Star(s) if s == "*" => Ok(Principal::Everyone),
            Raw::Star(other) => Err(de::Error::custom(format!(
                "a Principal string must be \"*\", not {other:?}"
            ))),
            Raw::Map(mut map) if map.len() == 1 => {
                if let Some(values) = map.remove("AWS") {
                    Ok(Principal::Aws(values))
                } else if let Some(values) = map.remove("Service") {
                    Ok(Principal::Service(values))
                } else {
                    Err(de::Error::custom(
                        "a Principal map must have an AWS or Service key",
                    ))
                }
            }
            Raw::Map(_) => Err(de::Error::custom(
                "a Principal map must have exactly one of AWS or Service",
            )),
        }
    }
}

/// One or more strings; serialized as a plain string when there is exactly one.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Values(Vec<String>);

impl Values {
    /// Values kept in the given order (actions follow the guidance's order).
    pub fn ordered<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out: Vec<String> = Vec::new();
        for value in values {
            let value = value.into();
            if !out.contains(&value) {
                out.push(value);
            }
        }
        Values(out)
    }

    /// Values sorted and de-duplicated (principals, condition values).
    pub fn set<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut out: Vec<String> = values.into_iter().map(Into::into).collect();
        out.sort();
        out.dedup();
        Values(out)
    }

    /// The values as a slice.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// How many values there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `value` is one of them.
    pub fn contains(&self, value: &str) -> bool {
        self.0.iter().any(|v| v == value)
    }
}

impl Serialize for Values {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        Ok(match Raw::deserialize(deserializer)? {
            Raw::One(one) => Values(vec![one]),
            Raw::Many(many) => Values(many),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn single_values_serialize_as_strings_and_lists_as_arrays() {
        let statement = Statement::deny("S", Principal::any_aws(), &["sqs:SendMessage"], "arn:q")
            .when("ArnNotLike", "aws:SourceArn", ["b", "a", "b"]);
        assert_eq!(
            serde_json::to_value(&statement).unwrap(),
            json!({
                "Sid": "S", "Effect": "Deny", "Principal": {"AWS": "*"},
                "Action": "sqs:SendMessage", "Resource": "arn:q",
                "Condition": {"ArnNotLike": {"aws:SourceArn": ["a", "b"]}}
            })
        );
    }

    #[test]
    fn everyone_serializes_as_a_bare_star() {
        let statement = Statement::deny("S", Principal::Everyone, &["sqs:ReceiveMessage"], "arn:q");
        assert_eq!(
            serde_json::to_value(&statement).unwrap()["Principal"],
            json!("*")
        );
    }

    #[test]
    fn documents_round_trip_through_json() {
        let doc = PolicyDocument::new(vec![
            Statement::allow(
                "A",
                Principal::service("sns.amazonaws.com"),
                &["kms:Decrypt", "kms:GenerateDataKey"],
                "*",
            )
            .when("StringEquals", "aws:SourceAccount", ["111122223333"]),
            Statement::deny("B", Principal::Everyone, &["sqs:ReceiveMessage"], "arn:q"),
        ]);
        let back: PolicyDocument = serde_json::from_str(&doc.to_compact_json()).unwrap();
        assert_eq!(back, doc);
        assert!(
            doc.to_compact_json()
                .starts_with(r#"{"Version":"2012-10-17","Statement":["#)
        );
    }

    #[test]
    fn a_principal_string_other_than_star_is_refused() {
        assert!(serde_json::from_str::<Principal>(r#""arn:aws:iam::1:root""#).is_err());
    }
}
