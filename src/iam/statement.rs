//! Whether one statement applies to a request: its principal, action and resource elements
//! (or their `Not` forms) and every condition match it
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html>), read
//! as a statement of its [`Kind`] of policy. Its effect is the caller's.

use serde_json::Value;

use super::error::StatementError;
use super::request::{Principal, Request};
use super::{condition, wildcard};

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

/// Whether a principal named by its account is one of the account's principals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Accounts {
    /// Yes: an account names every principal of it.
    Include,
    /// Only the account's root itself.
    Delegate,
}

/// Whether a statement applies: principal, action, resource and every condition match.
pub(super) fn applies(
    statement: &Value,
    request: &Request,
    kind: Kind,
    accounts: Accounts,
) -> Result<bool, StatementError> {
    let principal = match (kind, &statement["Principal"], &statement["NotPrincipal"]) {
        (Kind::Identity, Value::Null, Value::Null) => true,
        (Kind::Identity, _, _) => {
            return Err(StatementError::PrincipalInIdentityPolicy);
        }
        (_, p, Value::Null) if !p.is_null() => principal_matches(p, &request.principal, accounts)?,
        (_, Value::Null, n) if !n.is_null() => !principal_matches(n, &request.principal, accounts)?,
        _ => return Err(StatementError::ExactlyOne("Principal")),
    };
    let action = match (&statement["Action"], &statement["NotAction"]) {
        (a, Value::Null) if !a.is_null() => any_match(a, &request.action, true)?,
        (Value::Null, n) if !n.is_null() => !any_match(n, &request.action, true)?,
        _ => return Err(StatementError::ExactlyOne("Action")),
    };
    let resource = match (kind, &statement["Resource"], &statement["NotResource"]) {
        (Kind::Trust, Value::Null, Value::Null) => true,
        (Kind::Trust, _, _) => {
            return Err(StatementError::ResourceInTrustPolicy);
        }
        (_, r, Value::Null) if !r.is_null() => any_match(r, &request.resource, false)?,
        (_, Value::Null, n) if !n.is_null() => !any_match(n, &request.resource, false)?,
        _ => return Err(StatementError::ExactlyOne("Resource")),
    };
    Ok(principal && action && resource && conditions_hold(&statement["Condition"], request)?)
}

fn any_match(patterns: &Value, value: &str, ignore_case: bool) -> Result<bool, StatementError> {
    Ok(strings(patterns)?
        .iter()
        .any(|p| wildcard::matches(p, value, ignore_case)))
}

fn principal_matches(
    principal: &Value,
    request: &Principal,
    accounts: Accounts,
) -> Result<bool, StatementError> {
    if principal.as_str() == Some("*") {
        return Ok(true);
    }
    let Value::Object(kinds) = principal else {
        return Err(StatementError::Principal(principal.to_string()));
    };
    for (kind, ids) in kinds {
        for id in strings(ids)? {
            let hit = match (kind.as_str(), request) {
                ("AWS", _) if id == "*" => true,
                ("AWS", Principal::Aws(arn)) => aws_principal_matches(&id, arn, accounts),
                ("Service", Principal::Service(name)) => id.eq_ignore_ascii_case(name),
                ("AWS" | "Service" | "Federated" | "CanonicalUser", _) => false,
                (other, _) => return Err(StatementError::PrincipalType(other.to_string())),
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

fn conditions_hold(conditions: &Value, request: &Request) -> Result<bool, StatementError> {
    let Value::Object(operators) = conditions else {
        return if conditions.is_null() {
            Ok(true)
        } else {
            Err(StatementError::Condition)
        };
    };
    for (operator, keys) in operators {
        let Value::Object(keys) = keys else {
            return Err(StatementError::ConditionKeys(operator.clone()));
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

/// An element's values: one string or a list of them, booleans and numbers read as strings.
fn strings(value: &Value) -> Result<Vec<String>, StatementError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(list) => list
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Bool(b) => Ok(b.to_string()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(StatementError::NotAString(other.to_string())),
            })
            .collect(),
        Value::Bool(b) => Ok(vec![b.to_string()]),
        Value::Number(n) => Ok(vec![n.to_string()]),
        other => Err(StatementError::NotStrings(other.to_string())),
    }
}
