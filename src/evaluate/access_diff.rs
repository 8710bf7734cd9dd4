//! The access diff: who gains and who loses each action when one policy replaces another,
//! decided by the evaluator for every principal that either version names.
//!
//! Each principal asks as a legitimate caller would (over TLS, from the SecureQueue's
//! organization and through its VPC endpoint when the spec names them; the key's data actions
//! through SQS), so a change shows what the replacement really takes away or grants, not what a
//! Deny of odd requests adds. `*` asks as a role of another account, outside the organization:
//! anyone at all. A service asks once for each source ARN either version names for it.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::arn::{self, Arn};
use crate::iam::{Effect, Error, Request, evaluate};
use crate::part::Part;
use crate::resolve::Resolved;

use super::intent::{Elsewhere, member, through_sqs};

/// The queue actions the diff asks about: messages, then administration.
pub const QUEUE_ACTIONS: [&str; 10] = [
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:PurgeQueue",
    "sqs:GetQueueAttributes",
    "sqs:SetQueueAttributes",
    "sqs:AddPermission",
    "sqs:TagQueue",
    "sqs:DeleteQueue",
];

/// The key's data actions, which SQS makes for its callers.
const KEY_DATA_ACTIONS: [&str; 2] = ["kms:Decrypt", "kms:GenerateDataKey"];
/// The key's administration, which a principal calls itself.
const KEY_ADMIN_ACTIONS: [&str; 4] = [
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "kms:CreateGrant",
];

/// The account `*` asks from: not the SecureQueue's, nor in its organization.
const ANYONE: &str = "arn:aws:iam::999999999999:role/anyone";

/// Whether a principal gains or loses an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Change {
    /// Allowed after, not before.
    Gains,
    /// Allowed before, not after.
    Loses,
}

/// One principal's access to one action that differs between the two versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessChange {
    /// Gains or loses.
    pub change: Change,
    /// The principal as the policies name it: an ARN, an account, a service (with the source
    /// it acts for), or `*`.
    pub principal: String,
    /// The action.
    pub action: String,
    /// The resource's ARN.
    pub resource: String,
    /// The decision of the version in AWS.
    pub before: Effect,
    /// The decision of the version that replaces it.
    pub after: Effect,
}

impl std::fmt::Display for AccessChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = match self.change {
            Change::Gains => "gains",
            Change::Loses => "loses",
        };
        write!(
            f,
            "{} {verb} {} on {}",
            self.principal, self.action, self.resource
        )
    }
}

/// One version of a policy: `None` for a resource without one (or without the resource).
pub type Version<'a> = Option<&'a Value>;

/// Every principal's change of access to `arn`, the part `part`, when `before` is replaced by
/// `after`.
pub fn diff(
    q: &Resolved,
    part: Part,
    arn: &str,
    before: Version<'_>,
    after: Version<'_>,
) -> Result<Vec<AccessChange>, Error> {
    let empty = serde_json::json!({"Statement": []});
    let (old, new) = (before.unwrap_or(&empty), after.unwrap_or(&empty));
    let sources = source_arns([old, new]);
    let mut changes = Vec::new();
    for principal in principals([old, new]) {
        for (label, action, request) in requests(q, part, arn, &principal, &sources) {
            let was = evaluate(old, &request)?.effect;
            let is = evaluate(new, &request)?.effect;
            let change = match (was == Effect::Allowed, is == Effect::Allowed) {
                (false, true) => Change::Gains,
                (true, false) => Change::Loses,
                _ => continue,
            };
            changes.push(AccessChange {
                change,
                principal: label,
                action: action.to_string(),
                resource: arn.to_string(),
                before: was,
                after: is,
            });
        }
    }
    Ok(changes)
}

/// A principal a policy names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Named {
    /// `*`: anyone.
    Anyone,
    /// An ARN or an account id.
    Aws(String),
    /// A service principal.
    Service(String),
}

/// Every principal either version names, in `Principal` or `NotPrincipal`.
fn principals(versions: [&Value; 2]) -> BTreeSet<Named> {
    let mut named = BTreeSet::new();
    for statement in versions.iter().flat_map(|v| statements(v)) {
        for field in ["Principal", "NotPrincipal"] {
            match &statement[field] {
                Value::String(s) if s == "*" => {
                    named.insert(Named::Anyone);
                }
                Value::Object(by_kind) => {
                    for (kind, values) in by_kind {
                        for value in strings(values) {
                            named.insert(match (kind.as_str(), value.as_str()) {
                                (_, "*") => Named::Anyone,
                                ("Service", service) => Named::Service(service.to_string()),
                                (_, other) => Named::Aws(other.to_string()),
                            });
                        }
                    }
                }
                _ => {}
            }
        }
    }
    named
}

/// Every `aws:SourceArn` either version's conditions name.
fn source_arns(versions: [&Value; 2]) -> BTreeSet<String> {
    let mut sources = BTreeSet::new();
    for statement in versions.iter().flat_map(|v| statements(v)) {
        let Some(conditions) = statement["Condition"].as_object() else {
            continue;
        };
        for keys in conditions.values().filter_map(Value::as_object) {
            for (key, values) in keys {
                if key.eq_ignore_ascii_case("aws:SourceArn") {
                    sources.extend(strings(values).into_iter().filter(|s| !s.contains('*')));
                }
            }
        }
    }
    sources
}

fn statements(policy: &Value) -> Vec<&Value> {
    match &policy["Statement"] {
        Value::Array(list) => list.iter().collect(),
        single @ Value::Object(_) => vec![single],
        _ => Vec::new(),
    }
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(list) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The requests a principal is asked about, each with its label and action.
fn requests(
    q: &Resolved,
    part: Part,
    arn: &str,
    principal: &Named,
    sources: &BTreeSet<String>,
) -> Vec<(String, &'static str, Request)> {
    let actions: Vec<&'static str> = match part {
        Part::DeadLetterQueue | Part::Queue => QUEUE_ACTIONS.to_vec(),
        Part::Key => KEY_DATA_ACTIONS
            .into_iter()
            .chain(KEY_ADMIN_ACTIONS)
            .collect(),
    };
    let ask = |caller: &str, action: &'static str| match part {
        Part::Key if KEY_DATA_ACTIONS.contains(&action) => through_sqs(q, caller, action),
        _ => member(q, caller, action, arn),
    };
    match principal {
        Named::Anyone => actions
            .into_iter()
            .map(|action| {
                let request = Request::signed(ANYONE, action, arn).outside_organization();
                ("*".to_string(), action, request)
            })
            .collect(),
        Named::Aws(name) => {
            let caller = if arn::is_account_id(name) {
                Arn::account_root(q.partition, name)
            } else {
                name.clone()
            };
            actions
                .into_iter()
                .map(|action| (name.clone(), action, ask(&caller, action)))
                .collect()
        }
        Named::Service(service) => {
            let unsourced = [None];
            let each: Vec<Option<&String>> = if sources.is_empty() {
                unsourced.to_vec()
            } else {
                sources.iter().map(Some).collect()
            };
            each.into_iter()
                .flat_map(|source| {
                    actions.iter().map(move |action| {
                        let mut request = Request::from_service(service, action, arn);
                        let label = match source {
                            Some(source) => {
                                let account = source.split(':').nth(4).unwrap_or_default();
                                let account = if account.is_empty() {
                                    &q.account_id
                                } else {
                                    account
                                };
                                request = request.for_source(source, account);
                                format!("{service} for {source}")
                            }
                            None => service.clone(),
                        };
                        (label, *action, request)
                    })
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::SecureQueue;
    use crate::evaluate::intent::Policies;
    use crate::plan;

    fn planned() -> (Resolved, Policies) {
        let queue: SecureQueue = serde_saphyr::from_str(
            "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata: {name: orders, namespace: shop}\nspec:\n  region: us-east-1\n  consumerRoleArns: [arn:aws:iam::111122223333:role/consumer]\n  producers:\n    snsTopicArns: [arn:aws:sns:us-east-1:111122223333:orders]\n",
        )
        .unwrap();
        let env = crate::resolve::Environment::for_operator(
            "arn:aws:iam::111122223333:role/securequeue".into(),
            None,
            Some("us-east-1".into()),
            "test".into(),
            false,
        );
        let (resolved, plan) = plan::build_resolved(&queue, &env).unwrap();
        (resolved, Policies::of(&plan))
    }

    fn shown(changes: &[AccessChange]) -> Vec<String> {
        changes
            .iter()
            .map(|c| format!("{} {:?} {}", c.principal, c.change, c.action))
            .collect()
    }

    #[test]
    fn a_wildcard_replaced_by_the_generated_policy_loses_what_it_had() {
        let (q, generated) = planned();
        let open = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "Open", "Effect": "Allow", "Principal": "*",
            "Action": "sqs:SendMessage", "Resource": q.queue_arn
        }]});
        let changes = diff(
            &q,
            Part::Queue,
            &q.queue_arn,
            Some(&open),
            Some(&generated.queue),
        )
        .unwrap();
        let shown = shown(&changes);
        assert!(
            shown.contains(&"* Loses sqs:SendMessage".to_string()),
            "{shown:?}"
        );
        let consumer = "arn:aws:iam::111122223333:role/consumer";
        assert!(
            shown.contains(&format!("{consumer} Gains sqs:ReceiveMessage")),
            "{shown:?}"
        );
        // `*` let the topic send before, as the generated policy does: no change for it.
        assert!(
            !shown.iter().any(|s| s.starts_with("sns.amazonaws.com")),
            "{shown:?}"
        );
        assert!(!shown.iter().any(|s| s.starts_with("* Gains")), "{shown:?}");
    }

    #[test]
    fn the_same_policy_changes_nobodys_access_and_no_policy_is_no_access() {
        let (q, generated) = planned();
        for (part, arn, policy) in [
            (Part::Queue, &q.queue_arn, &generated.queue),
            (Part::Key, &q.key_alias_arn, &generated.key),
        ] {
            assert!(
                diff(&q, part, arn, Some(policy), Some(policy))
                    .unwrap()
                    .is_empty()
            );
            let created = diff(&q, part, arn, None, Some(policy)).unwrap();
            assert!(
                created.iter().all(|c| c.change == Change::Gains),
                "{created:?}"
            );
            assert!(!created.is_empty());
        }
    }
}
