//! A request as the evaluator reads it: who makes it, the action, the resource, and the
//! context keys it carries; and requests as AWS makes them (who signs, how the request arrives,
//! on whose behalf a service acts), each with the global condition keys AWS sets for it
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>).

use std::collections::BTreeMap;

use serde::Serialize;

/// Who makes a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Principal {
    /// An IAM role or user, or an account root, by ARN.
    Aws(String),
    /// An AWS service principal such as `sns.amazonaws.com`.
    Service(String),
    /// Nobody signed the request.
    Anonymous,
}

/// One request: who, what, on which resource, and the context keys it carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Request {
    /// The principal.
    pub principal: Principal,
    /// The action, such as `sqs:ReceiveMessage`.
    pub action: String,
    /// The resource ARN.
    pub resource: String,
    /// Context keys (lower case) and their values.
    pub context: BTreeMap<String, Vec<String>>,
}

impl Request {
    /// A request without context keys.
    pub fn new(principal: Principal, action: &str, resource: &str) -> Self {
        Self {
            principal,
            action: action.to_string(),
            resource: resource.to_string(),
            context: BTreeMap::new(),
        }
    }

    /// Adds a context key (case-insensitive) with one value.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.context
            .entry(key.to_ascii_lowercase())
            .or_default()
            .push(value.to_string());
        self
    }

    /// Removes a context key.
    pub fn without(mut self, key: &str) -> Self {
        self.context.remove(&key.to_ascii_lowercase());
        self
    }

    /// A request an IAM principal signs, over TLS, with the `aws:PrincipalArn` and
    /// `aws:PrincipalAccount` AWS sets for it.
    pub fn signed(principal_arn: &str, action: &str, resource: &str) -> Self {
        Request::new(Principal::Aws(principal_arn.to_string()), action, resource)
            .with("aws:SecureTransport", "true")
            .with("aws:PrincipalArn", principal_arn)
            .with(
                "aws:PrincipalAccount",
                principal_arn.split(':').nth(4).unwrap_or_default(),
            )
    }

    /// A request an AWS service principal (such as `sns.amazonaws.com`) makes, over TLS.
    pub fn from_service(service: &str, action: &str, resource: &str) -> Self {
        Request::new(Principal::Service(service.to_string()), action, resource)
            .with("aws:SecureTransport", "true")
    }

    /// On behalf of the source with this ARN (`aws:SourceArn`).
    pub fn for_source_arn(self, arn: &str) -> Self {
        self.set("aws:SourceArn", arn)
    }

    /// On behalf of a source of this account (`aws:SourceAccount`).
    pub fn for_source_account(self, account: &str) -> Self {
        self.set("aws:SourceAccount", account)
    }

    /// On behalf of this source, of this account.
    pub fn for_source(self, arn: &str, account: &str) -> Self {
        self.for_source_arn(arn).for_source_account(account)
    }

    /// From a principal of this organization (`aws:PrincipalOrgID`).
    pub fn in_organization(self, organization: &str) -> Self {
        self.set("aws:PrincipalOrgID", organization)
    }

    /// Through this VPC endpoint (`aws:SourceVpce`).
    pub fn through_endpoint(self, endpoint: &str) -> Self {
        self.set("aws:SourceVpce", endpoint)
    }

    /// A KMS call this service (`kms:ViaService`, e.g. `sqs.eu-west-1.amazonaws.com`) makes for
    /// the principal.
    pub fn via_service(self, endpoint: &str) -> Self {
        self.set("kms:ViaService", endpoint)
    }

    /// Over plain HTTP (`aws:SecureTransport` false).
    pub fn over_plain_http(self) -> Self {
        self.set("aws:SecureTransport", "false")
    }

    /// With this one value of the context key, whatever it had before.
    fn set(self, key: &str, value: &str) -> Self {
        self.without(key).with(key, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_request_carries_no_principal_keys() {
        let request = Request::from_service("sns.amazonaws.com", "sqs:SendMessage", "q")
            .for_source("arn:aws:sns:eu-west-1:111122223333:t", "111122223333");
        assert_eq!(
            request.principal,
            Principal::Service("sns.amazonaws.com".into())
        );
        let keys: Vec<&str> = request.context.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["aws:secureTransport", "aws:sourceAccount", "aws:sourceArn"]
                .map(|k| k.to_ascii_lowercase())
        );
    }
}
