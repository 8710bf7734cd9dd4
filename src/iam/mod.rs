//! An evaluator of the IAM policy language, as AWS documents it in the IAM User Guide's "Policy
//! evaluation logic"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>),
//! for resource-based policies (key policies, queue policies, trust policies) and identity-based
//! (IAM) policies: a request is allowed when some statement allows it and none denies it; "If
//! policies that apply to a request include an Allow statement and a Deny statement, the Deny
//! statement trumps the Allow statement"; with neither, the request is implicitly denied
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html>).
//!
//! - this module: the decision of one policy on one request, statement by statement;
//! - [`condition`]: the `Condition` operators; [`wildcard`]: `*` and `?` in actions, resources
//!   and condition values;
//! - [`same_account`]: an identity policy and a resource policy judged together, for a principal
//!   of the resource's own account (with KMS's exception).
//!
//! Pure and general: policy documents (JSON) and a request in, a decision and the statements
//! that made it out. It knows nothing of SecureQueues; the tables of `crate::evaluate` are built
//! on it.

pub mod condition;
mod request;
pub mod same_account;
pub mod wildcard;

pub use request::{Principal, Request};

use serde::Serialize;
use serde_json::Value;

/// The outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Effect {
    /// Some statement allows and none denies.
    Allowed,
    /// A statement denies.
    ExplicitDeny,
    /// No statement applies: denied by default.
    ImplicitDeny,
}

/// A decision and the statements that made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The outcome.
    pub effect: Effect,
    /// Sids (or positions) of the Allow statements that apply.
    pub allowed_by: Vec<String>,
    /// Sids (or positions) of the Deny statements that apply.
    pub denied_by: Vec<String>,
}

/// What kind of policy a document is, and so how its principals are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A resource-based policy, each statement naming its principals; a statement naming an
    /// account (its id or root) applies to every principal of the account.
    Resource,
    /// A resource-based policy in which naming an account grants no principal anything by
    /// itself, only leaves it to the account's IAM policies (delegation). Explicit Denies that
    /// name an account still refuse every principal of it.
    ResourceDelegating,
    /// An identity-based (IAM) policy: no principals, it holds for the identity it is attached to.
    Identity,
    /// A role's trust policy: statements name principals and no resource (the role itself),
    /// and naming an account leaves the choice to its IAM policies, as in
    /// [`Kind::ResourceDelegating`]
    /// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts>).
    Trust,
}

impl Decision {
    /// The statements that decided, Denies first, for people.
    pub fn statements(&self) -> String {
        [&self.denied_by, &self.allowed_by]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The decision of the statements that apply: an explicit Deny beats any Allow, and with
    /// neither the default is deny.
    pub fn of(allowed_by: Vec<String>, denied_by: Vec<String>) -> Self {
        let effect = if !denied_by.is_empty() {
            Effect::ExplicitDeny
        } else if !allowed_by.is_empty() {
            Effect::Allowed
        } else {
            Effect::ImplicitDeny
        };
        Self {
            effect,
            allowed_by,
            denied_by,
        }
    }
}

/// Evaluates a request against a resource-based policy.
pub fn evaluate(policy: &Value, request: &Request) -> Result<Decision, String> {
    evaluate_as(Kind::Resource, policy, request)
}

/// Evaluates a request against a policy of the given kind.
pub fn evaluate_as(kind: Kind, policy: &Value, request: &Request) -> Result<Decision, String> {
    let statements = match &policy["Statement"] {
        Value::Array(list) => list.clone(),
        single @ Value::Object(_) => vec![single.clone()],
        _ => return Err("the policy has no Statement".to_string()),
    };
    let (mut allowed_by, mut denied_by) = (Vec::new(), Vec::new());
    for (i, statement) in statements.iter().enumerate() {
        let name = statement["Sid"]
            .as_str()
            .map_or_else(|| format!("statement {i}"), str::to_string);
        let effect = statement["Effect"].as_str();
        // Naming an account delegates an Allow to its IAM policies, but a Deny holds for all.
        let accounts = match (kind, effect) {
            (Kind::ResourceDelegating | Kind::Trust, Some("Allow")) => Accounts::Delegate,
            _ => Accounts::Include,
        };
        if !applies(statement, request, kind, accounts).map_err(|e| format!("{name}: {e}"))? {
            continue;
        }
        match effect {
            Some("Allow") => allowed_by.push(name),
            Some("Deny") => denied_by.push(name),
            other => return Err(format!("{name}: Effect is {other:?}, not Allow or Deny")),
        }
    }
    Ok(Decision::of(allowed_by, denied_by))
}

fn strings(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(list) => list
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Bool(b) => Ok(b.to_string()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(format!("`{other}` is not a string")),
            })
            .collect(),
        Value::Bool(b) => Ok(vec![b.to_string()]),
        Value::Number(n) => Ok(vec![n.to_string()]),
        other => Err(format!("`{other}` is not a string or a list of strings")),
    }
}

/// Whether a principal named by its account is one of the account's principals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Accounts {
    /// Yes: an account names every principal of it.
    Include,
    /// Only the account's root itself.
    Delegate,
}

/// Whether a statement applies: principal, action, resource and every condition match.
fn applies(
    statement: &Value,
    request: &Request,
    kind: Kind,
    accounts: Accounts,
) -> Result<bool, String> {
    let principal = match (kind, &statement["Principal"], &statement["NotPrincipal"]) {
        (Kind::Identity, Value::Null, Value::Null) => true,
        (Kind::Identity, _, _) => {
            return Err("an identity policy's statements name no Principal".to_string());
        }
        (_, p, Value::Null) if !p.is_null() => principal_matches(p, &request.principal, accounts)?,
        (_, Value::Null, n) if !n.is_null() => !principal_matches(n, &request.principal, accounts)?,
        _ => return Err("needs exactly one of Principal and NotPrincipal".to_string()),
    };
    let action = match (&statement["Action"], &statement["NotAction"]) {
        (a, Value::Null) if !a.is_null() => any_match(a, &request.action, true)?,
        (Value::Null, n) if !n.is_null() => !any_match(n, &request.action, true)?,
        _ => return Err("needs exactly one of Action and NotAction".to_string()),
    };
    let resource = match (kind, &statement["Resource"], &statement["NotResource"]) {
        (Kind::Trust, Value::Null, Value::Null) => true,
        (Kind::Trust, _, _) => {
            return Err("a trust policy's statements name no Resource".to_string());
        }
        (_, r, Value::Null) if !r.is_null() => any_match(r, &request.resource, false)?,
        (_, Value::Null, n) if !n.is_null() => !any_match(n, &request.resource, false)?,
        _ => return Err("needs exactly one of Resource and NotResource".to_string()),
    };
    Ok(principal && action && resource && conditions_hold(&statement["Condition"], request)?)
}

fn any_match(patterns: &Value, value: &str, ignore_case: bool) -> Result<bool, String> {
    Ok(strings(patterns)?
        .iter()
        .any(|p| wildcard::matches(p, value, ignore_case)))
}

fn principal_matches(
    principal: &Value,
    request: &Principal,
    accounts: Accounts,
) -> Result<bool, String> {
    if principal.as_str() == Some("*") {
        return Ok(true);
    }
    let Value::Object(kinds) = principal else {
        return Err(format!(
            "Principal `{principal}` is neither \"*\" nor an object"
        ));
    };
    for (kind, ids) in kinds {
        for id in strings(ids)? {
            let hit = match (kind.as_str(), request) {
                ("AWS", _) if id == "*" => true,
                ("AWS", Principal::Aws(arn)) => aws_principal_matches(&id, arn, accounts),
                ("Service", Principal::Service(name)) => id.eq_ignore_ascii_case(name),
                ("AWS" | "Service" | "Federated" | "CanonicalUser", _) => false,
                (other, _) => return Err(format!("unknown principal type `{other}`")),
            };
            if hit {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// An account (id or root ARN) names every principal of the account, or with
/// [`Accounts::Delegate`] only the account's root; other ARNs name one.
fn aws_principal_matches(id: &str, arn: &str, accounts: Accounts) -> bool {
    let account_of = |a: &str| a.split(':').nth(4).map(str::to_string);
    let named_account = if id.len() == 12 && id.chars().all(|c| c.is_ascii_digit()) {
        Some(id.to_string())
    } else {
        id.strip_suffix(":root")
            .and_then(|r| r.split(':').nth(4))
            .map(str::to_string)
    };
    match named_account {
        None => id == arn,
        Some(account) if accounts == Accounts::Include || arn.ends_with(":root") => {
            account_of(arn) == Some(account)
        }
        Some(_) => false,
    }
}

fn conditions_hold(conditions: &Value, request: &Request) -> Result<bool, String> {
    let Value::Object(operators) = conditions else {
        return if conditions.is_null() {
            Ok(true)
        } else {
            Err("Condition is not an object".to_string())
        };
    };
    for (operator, keys) in operators {
        let Value::Object(keys) = keys else {
            return Err(format!("{operator} does not map keys to values"));
        };
        for (key, values) in keys {
            let actual = request
                .context
                .get(&key.to_ascii_lowercase())
                .map(Vec::as_slice);
            if !condition::holds(operator, &strings(values)?, actual)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ROLE: &str = "arn:aws:iam::111122223333:role/app";
    const QUEUE: &str = "arn:aws:sqs:us-east-1:111122223333:q";

    fn role(arn: &str) -> Principal {
        Principal::Aws(arn.to_string())
    }

    #[test]
    fn explicit_deny_beats_allow_and_nothing_means_default_deny() {
        let policy = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Allow", "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "sqs:*", "Resource": QUEUE},
            {"Sid": "NoHttp", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": QUEUE,
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        ]});
        let tls =
            Request::new(role(ROLE), "sqs:SendMessage", QUEUE).with("aws:SecureTransport", "true");
        assert_eq!(evaluate(&policy, &tls).unwrap().effect, Effect::Allowed);
        let http =
            Request::new(role(ROLE), "sqs:SendMessage", QUEUE).with("aws:SecureTransport", "false");
        let denied = evaluate(&policy, &http).unwrap();
        assert_eq!(denied.effect, Effect::ExplicitDeny);
        assert_eq!(denied.denied_by, ["NoHttp"]);
        let stranger = Request::new(
            role("arn:aws:iam::111122223333:role/x"),
            "sqs:SendMessage",
            QUEUE,
        )
        .with("aws:SecureTransport", "true");
        assert_eq!(
            evaluate(&policy, &stranger).unwrap().effect,
            Effect::ImplicitDeny
        );
    }

    #[test]
    fn actions_ignore_case_and_resources_do_not() {
        let policy = json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "SQS:send*", "Resource": QUEUE}});
        assert_eq!(
            evaluate(
                &policy,
                &Request::new(Principal::Anonymous, "sqs:SendMessage", QUEUE)
            )
            .unwrap()
            .effect,
            Effect::Allowed
        );
        let upper = QUEUE.to_uppercase();
        assert_eq!(
            evaluate(
                &policy,
                &Request::new(Principal::Anonymous, "sqs:SendMessage", &upper)
            )
            .unwrap()
            .effect,
            Effect::ImplicitDeny
        );
    }

    #[test]
    fn account_principals_name_every_principal_of_the_account() {
        let policy = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}]});
        assert_eq!(
            evaluate(&policy, &Request::new(role(ROLE), "kms:Decrypt", "k"))
                .unwrap()
                .effect,
            Effect::Allowed
        );
        let other = role("arn:aws:iam::444455556666:role/app");
        assert_eq!(
            evaluate(&policy, &Request::new(other, "kms:Decrypt", "k"))
                .unwrap()
                .effect,
            Effect::ImplicitDeny
        );
    }

    #[test]
    fn not_principal_not_action_and_not_resource_invert() {
        let policy = json!({"Statement": [{"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "NotAction": "sqs:Get*", "NotResource": "arn:aws:sqs:*:*:public-*"}]});
        let stranger = role("arn:aws:iam::111122223333:role/x");
        assert_eq!(
            evaluate(
                &policy,
                &Request::new(stranger.clone(), "sqs:SendMessage", QUEUE)
            )
            .unwrap()
            .effect,
            Effect::ExplicitDeny
        );
        assert_eq!(
            evaluate(&policy, &Request::new(role(ROLE), "sqs:SendMessage", QUEUE))
                .unwrap()
                .effect,
            Effect::ImplicitDeny
        );
        assert_eq!(
            evaluate(
                &policy,
                &Request::new(stranger.clone(), "sqs:GetQueueUrl", QUEUE)
            )
            .unwrap()
            .effect,
            Effect::ImplicitDeny
        );
        assert_eq!(
            evaluate(
                &policy,
                &Request::new(
                    stranger,
                    "sqs:SendMessage",
                    "arn:aws:sqs:us-east-1:1:public-q"
                )
            )
            .unwrap()
            .effect,
            Effect::ImplicitDeny
        );
    }

    #[test]
    fn service_principals_and_condition_keys_ignore_case() {
        let policy = json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": QUEUE,
            "Condition": {"ArnEquals": {"AWS:SourceArn": "arn:aws:sns:us-east-1:111122223333:t"}}}]});
        let sns = Request::new(
            Principal::Service("sns.amazonaws.com".into()),
            "sqs:SendMessage",
            QUEUE,
        )
        .with("aws:sourcearn", "arn:aws:sns:us-east-1:111122223333:t");
        assert_eq!(evaluate(&policy, &sns).unwrap().effect, Effect::Allowed);
        let other = sns
            .clone()
            .without("aws:SourceArn")
            .with("aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:u");
        assert_eq!(
            evaluate(&policy, &other).unwrap().effect,
            Effect::ImplicitDeny
        );
    }

    #[test]
    fn malformed_statements_and_unknown_operators_are_errors() {
        let no_action =
            json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Resource": "*"}]});
        assert!(evaluate(&no_action, &Request::new(Principal::Anonymous, "a:b", "r")).is_err());
        let unknown = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*", "Condition": {"StringRoughly": {"aws:x": "y"}}}]});
        assert!(evaluate(&unknown, &Request::new(Principal::Anonymous, "a:b", "r")).is_err());
    }
}
