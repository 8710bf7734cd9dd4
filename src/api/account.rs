//! `SecureQueueAccount`: the platform team's binding of an AWS account to namespaces.
//!
//! Cluster-scoped, so only those who may write cluster-wide objects (the platform team, not an
//! application team with rights in its own namespace) decide which namespace may create queues
//! in which account. A SecureQueue names the account in `spec.accountId`; the operator then
//! assumes the binding's role for every call it makes for that SecureQueue.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::{limits, patterns};

/// An AWS account SecureQueues of some namespaces may use, and the role the operator assumes
/// in it.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "securequeue.io",
    version = "v1alpha1",
    kind = "SecureQueueAccount",
    plural = "securequeueaccounts",
    shortname = "sqa",
    derive = "PartialEq",
    doc = "An AWS account that SecureQueues of the namespaces it names may create their keys and queues in, and the IAM role the securequeue operator assumes there (STS AssumeRole). Cluster-scoped: the platform team's, not the application teams'.",
    cel,
    printcolumn(
        name = "Account",
        type_ = "string",
        json_path = ".spec.accountId",
        description = "The AWS account"
    ),
    printcolumn(
        name = "Role",
        type_ = "string",
        json_path = ".spec.roleArn",
        description = "The role the operator assumes in it"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(
    validation = Rule::new("self.roleArn.contains(':iam::' + self.accountId + ':role/')")
        .message("roleArn must be a role in accountId: the operator assumes it to work in that account")
        .field_path(".roleArn")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecureQueueAccountSpec {
    /// The 12-digit AWS account the SecureQueues create their key and queues in, when their
    /// `spec.accountId` names it.
    #[schemars(length(min = 12, max = 12), pattern(patterns::ACCOUNT_ID))]
    pub account_id: String,

    /// The IAM role in that account the operator assumes (STS AssumeRole) for every call it
    /// makes there. It administers the keys and queues it makes, as the operator's own role does
    /// in the operator's account; `securequeue iam-policy --account-id A --trusted-principal
    /// OPERATOR_ROLE` prints its permissions and trust policies.
    #[schemars(length(max = limits::ARN_LENGTH_MAX), pattern(patterns::role_arn()))]
    pub role_arn: String,

    /// The external id the role's trust policy requires (`sts:ExternalId`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = limits::EXTERNAL_ID_MIN, max = limits::EXTERNAL_ID_MAX),
        pattern(patterns::EXTERNAL_ID)
    )]
    pub external_id: Option<String>,

    /// Namespaces, by name, whose SecureQueues may use this account.
    #[serde(default)]
    #[schemars(
        inner(pattern(patterns::NAMESPACE)),
        extend("x-kubernetes-list-type" = "set")
    )]
    pub namespaces: Vec<String>,

    /// Namespaces, by their labels, whose SecureQueues may use this account, besides those
    /// `namespaces` names; as everywhere in Kubernetes, `{}` selects every namespace.
    /// `securequeue apply`, `plan` and `verify` match namespaces by name only, as they read no
    /// namespace's labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,

    /// Guardrails for this account only, on top of the operator's own.
    #[serde(default)]
    pub guardrails: AccountGuardrails,
}

/// The platform team's guardrails for one account, added to the operator's.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountGuardrails {
    /// The organizationId every SecureQueue in this account must set (`spec.organizationId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(patterns::ORGANIZATION_ID))]
    pub required_organization_id: Option<String>,

    /// IAM roles added to the administrators of every key and queue in this account.
    #[serde(default)]
    #[schemars(
        length(max = limits::PRINCIPALS_PER_LIST_MAX),
        inner(length(max = limits::ARN_LENGTH_MAX), pattern(patterns::role_arn())),
        extend("x-kubernetes-list-type" = "set")
    )]
    pub admin_role_arns: Vec<String>,
}
