//! Why the evaluator cannot decide: a policy it cannot read, in which statement and how, or a
//! requester it cannot place in an account. Each message is one line for people; the policy
//! values in it are quoted as every message of the crate quotes them.

use crate::quote::quoted;

/// A policy the evaluator cannot read, or a request it cannot judge.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `Statement` is neither a list of statements nor one statement.
    #[error("the policy has no Statement")]
    NoStatement,
    /// A statement, named by its `Sid` or its position (`statement 2`), that cannot be read.
    #[error("{statement}: {problem}")]
    Statement {
        /// The statement's `Sid`, or `statement <position>` without one.
        statement: String,
        /// What is wrong with it.
        problem: StatementError,
    },
    /// A KMS key's same-account decision needs the requester's account, which only an IAM
    /// principal has.
    #[error("only an IAM principal has an account of its own")]
    NoAccount,
    /// The requester's principal is not an ARN, so it names no account.
    #[error("{} is not an ARN", quoted(.0))]
    NotAnArn(String),
}

/// What is wrong with one statement.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    /// `Effect` is missing, or neither `Allow` nor `Deny`.
    #[error("Effect is {0:?}, not Allow or Deny")]
    Effect(Option<String>),
    /// An identity policy's statement names a principal: it holds for whom it is attached to.
    #[error("an identity policy's statements name no Principal")]
    PrincipalInIdentityPolicy,
    /// A trust policy's statement names a resource: its resource is the role itself.
    #[error("a trust policy's statements name no Resource")]
    ResourceInTrustPolicy,
    /// Both or neither of an element and its `Not` form (`Principal`, `Action`, `Resource`).
    #[error("needs exactly one of {0} and Not{0}")]
    ExactlyOne(&'static str),
    /// A list holds a value that is not a string (the value as JSON).
    #[error("`{0}` is not a string")]
    NotAString(String),
    /// An element is neither a string nor a list of strings (the value as JSON).
    #[error("`{0}` is not a string or a list of strings")]
    NotStrings(String),
    /// `Principal` is neither `"*"` nor an object of principal types (the value as JSON).
    #[error("Principal `{0}` is neither \"*\" nor an object")]
    Principal(String),
    /// A principal type other than `AWS`, `Service`, `Federated` and `CanonicalUser`.
    #[error("unknown principal type `{0}`")]
    PrincipalType(String),
    /// `Condition` is not an object of operators.
    #[error("Condition is not an object")]
    Condition,
    /// A condition operator whose value is not an object of keys.
    #[error("{0} does not map keys to values")]
    ConditionKeys(String),
    /// A condition operator the evaluator does not know.
    #[error("unknown condition operator {}", quoted(.0))]
    ConditionOperator(String),
    /// A date operator's policy value is not a date.
    #[error("{} is not a date", quoted(.0))]
    Date(String),
    /// An IP address operator's policy value is neither an address nor a CIDR block.
    #[error("{} is not an IP address or CIDR block", quoted(.0))]
    IpAddress(String),
    /// A CIDR block's prefix length is not a number within the address's width.
    #[error("{} has a bad prefix length", quoted(.0))]
    PrefixLength(String),
    /// A numeric operator's policy value is not a number.
    #[error("{} is not a number", quoted(.0))]
    Number(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::{Principal, Request, evaluate};
    use serde_json::json;

    fn error_of(statement: serde_json::Value) -> Error {
        let policy = json!({"Statement": [statement]});
        let request = Request::new(Principal::Anonymous, "sqs:SendMessage", "q")
            .with("aws:CurrentTime", "2030-01-01T00:00:00Z");
        evaluate(&policy, &request).unwrap_err()
    }

    #[test]
    fn a_statement_error_names_the_statement_by_sid_or_position() {
        let no_effect =
            error_of(json!({"Sid": "Send", "Principal": "*", "Action": "*", "Resource": "*"}));
        assert_eq!(
            no_effect,
            Error::Statement {
                statement: "Send".into(),
                problem: StatementError::Effect(None)
            }
        );
        assert_eq!(
            no_effect.to_string(),
            "Send: Effect is None, not Allow or Deny"
        );
        let permit =
            error_of(json!({"Effect": "Permit", "Principal": "*", "Action": "*", "Resource": "*"}));
        assert_eq!(
            permit.to_string(),
            "statement 0: Effect is Some(\"Permit\"), not Allow or Deny"
        );
    }

    #[test]
    fn a_hostile_value_in_a_policy_is_quoted_in_the_message() {
        let date = error_of(
            json!({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
            "Condition": {"DateLessThan": {"aws:CurrentTime": "soon\nDeny: everything"}}}),
        );
        assert_eq!(
            date.to_string(),
            "statement 0: `soon\\nDeny: everything` is not a date"
        );
        let operator = error_of(
            json!({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
            "Condition": {"StringRoughly": {"aws:x": "y"}}}),
        );
        assert_eq!(
            operator.to_string(),
            "statement 0: unknown condition operator `StringRoughly`"
        );
    }

    #[test]
    fn malformed_elements_say_which_and_how() {
        let both = error_of(
            json!({"Effect": "Allow", "Principal": "*", "NotPrincipal": "*", "Action": "*", "Resource": "*"}),
        );
        assert_eq!(
            both.to_string(),
            "statement 0: needs exactly one of Principal and NotPrincipal"
        );
        let number = error_of(
            json!({"Effect": "Allow", "Principal": "*", "Action": [{"a": 1}], "Resource": "*"}),
        );
        assert_eq!(
            number.to_string(),
            "statement 0: `{\"a\":1}` is not a string"
        );
        assert_eq!(
            evaluate(&json!({}), &Request::new(Principal::Anonymous, "a:b", "r"))
                .unwrap_err()
                .to_string(),
            "the policy has no Statement"
        );
    }
}
