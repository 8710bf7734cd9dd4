//! One policy's decision on one request: every statement that applies counts, in no particular
//! order; an explicit Deny among them beats any Allow, and with neither the request is denied
//! by default.

use serde::Serialize;
use serde_json::Value;

use super::error::{Error, StatementError};
use super::request::Request;
use super::statement::{Accounts, Kind, applies};

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
pub fn evaluate(policy: &Value, request: &Request) -> Result<Decision, Error> {
    evaluate_as(Kind::Resource, policy, request)
}

/// Evaluates a request against a policy of the given kind: every statement that applies counts,
/// in no particular order, and an explicit Deny among them beats any Allow.
pub fn evaluate_as(kind: Kind, policy: &Value, request: &Request) -> Result<Decision, Error> {
    let statements: Vec<&Value> = match &policy["Statement"] {
        Value::Array(list) => list.iter().collect(),
        single @ Value::Object(_) => vec![single],
        _ => return Err(Error::NoStatement),
    };
    let (mut allowed_by, mut denied_by) = (Vec::new(), Vec::new());
    for (i, statement) in statements.into_iter().enumerate() {
        let name = statement["Sid"]
            .as_str()
            .map_or_else(|| format!("statement {i}"), str::to_string);
        let effect = statement["Effect"].as_str();
        // Naming an account delegates an Allow to its IAM policies, but a Deny holds for all.
        let accounts = match (kind, effect) {
            (Kind::ResourceDelegating | Kind::Trust, Some("Allow")) => Accounts::Delegate,
            _ => Accounts::Include,
        };
        let in_statement = |problem| Error::Statement {
            statement: name.clone(),
            problem,
        };
        if !applies(statement, request, kind, accounts).map_err(in_statement)? {
            continue;
        }
        match effect {
            Some("Allow") => allowed_by.push(name),
            Some("Deny") => denied_by.push(name),
            other => {
                return Err(in_statement(StatementError::Effect(
                    other.map(str::to_string),
                )));
            }
        }
    }
    Ok(Decision::of(allowed_by, denied_by))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::Principal;
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
