//! The trust policy of the role the operator assumes in a target account: who may assume it.
//!
//! It trusts one principal, the operator's own role in the cluster's account, and nothing
//! else: no account root (which would leave the choice to every administrator of the cluster's
//! account), no service, no web identity. AWS's rules this follows:
//! - a role's trust policy is the resource-based policy that names who may assume it, and a
//!   principal of another account also needs `sts:AssumeRole` in its own IAM policy
//!   (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html>,
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html>);
//! - `aws:PrincipalArn` is the ARN of the role, not of its session, for an assumed-role
//!   principal, so `ArnEquals` on it holds the trust to that role even where the Principal
//!   element alone would also admit a role recreated under the same name
//!   (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn>);
//! - `sts:ExternalId` is present only when the caller passes one, so `StringEquals` on it
//!   refuses a caller that knows the role but not the id
//!   (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html>).
//!
//! `aws:SourceAccount` and `aws:SourceArn` are set only when an AWS service calls on behalf of a
//! resource, never for a role's own AssumeRole, so a condition on them would refuse the operator
//! and is not written (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceaccount>).

use serde::{Deserialize, Serialize};

use super::document::{Conditions, Effect, PolicyDocument, Principal, Values, add_condition};

/// The one Sid of the trust policy.
pub const TRUST_SID: &str = "AllowSecureQueueOperatorToAssumeRole";

/// One statement of a role's trust policy: a principal and actions, no resource (the role).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct TrustStatement {
    /// The statement's name.
    pub sid: String,
    /// Allow.
    pub effect: Effect,
    /// Who may assume the role.
    pub principal: Principal,
    /// `sts:AssumeRole`.
    pub action: Values,
    /// Conditions, all of which must hold.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub condition: Conditions,
}

/// The trust policy of a target account's role: only `operator_role_arn` may assume it, with
/// `external_id` when one is set.
pub fn trust_policy(
    operator_role_arn: &str,
    external_id: Option<&str>,
) -> PolicyDocument<TrustStatement> {
    let mut condition = Conditions::new();
    add_condition(
        &mut condition,
        "ArnEquals",
        "aws:PrincipalArn",
        [operator_role_arn],
    );
    if let Some(id) = external_id {
        add_condition(&mut condition, "StringEquals", "sts:ExternalId", [id]);
    }
    PolicyDocument::new(vec![TrustStatement {
        sid: TRUST_SID.to_string(),
        effect: Effect::Allow,
        principal: Principal::aws([operator_role_arn]),
        action: Values::ordered(["sts:AssumeRole".to_string()]),
        condition,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::Effect::{self as Decided, Allowed, ImplicitDeny};
    use crate::iam::{Kind, Request, evaluate_as};

    const OPERATOR: &str = "arn:aws:iam::111122223333:role/securequeue-operator";

    fn decide(
        policy: &PolicyDocument<TrustStatement>,
        principal: &str,
        action: &str,
        external_id: Option<&str>,
    ) -> Decided {
        let mut request = Request::new(
            crate::iam::Principal::Aws(principal.to_string()),
            action,
            "arn:aws:iam::222233334444:role/securequeue-target",
        );
        request = request.with("aws:PrincipalArn", principal);
        if let Some(id) = external_id {
            request = request.with("sts:ExternalId", id);
        }
        evaluate_as(Kind::Trust, &policy.to_value(), &request)
            .unwrap()
            .effect
    }

    #[test]
    fn only_the_operators_role_with_the_external_id_may_assume_the_role() {
        let policy = trust_policy(OPERATOR, Some("cluster-prod"));
        let table = [
            (OPERATOR, "sts:AssumeRole", Some("cluster-prod"), Allowed),
            (OPERATOR, "sts:AssumeRole", None, ImplicitDeny),
            (OPERATOR, "sts:AssumeRole", Some("guessed"), ImplicitDeny),
            (
                OPERATOR,
                "sts:AssumeRoleWithWebIdentity",
                Some("cluster-prod"),
                ImplicitDeny,
            ),
            (
                OPERATOR,
                "sts:TagSession",
                Some("cluster-prod"),
                ImplicitDeny,
            ),
            (
                "arn:aws:iam::111122223333:role/other-workload",
                "sts:AssumeRole",
                Some("cluster-prod"),
                ImplicitDeny,
            ),
            (
                "arn:aws:iam::111122223333:root",
                "sts:AssumeRole",
                Some("cluster-prod"),
                ImplicitDeny,
            ),
            (
                "arn:aws:iam::999999999999:role/securequeue-operator",
                "sts:AssumeRole",
                Some("cluster-prod"),
                ImplicitDeny,
            ),
        ];
        for (principal, action, id, expected) in table {
            assert_eq!(
                decide(&policy, principal, action, id),
                expected,
                "{principal} {action} {id:?}"
            );
        }
    }

    #[test]
    fn without_an_external_id_the_role_alone_decides() {
        let policy = trust_policy(OPERATOR, None);
        assert_eq!(decide(&policy, OPERATOR, "sts:AssumeRole", None), Allowed);
        assert_eq!(
            decide(
                &policy,
                "arn:aws:iam::111122223333:role/other",
                "sts:AssumeRole",
                None
            ),
            ImplicitDeny
        );
        assert!(
            policy.to_value()["Statement"][0]["Condition"]
                .get("StringEquals")
                .is_none()
        );
    }
}
