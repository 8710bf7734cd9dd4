//! Working in another account: the credentials of a role the operator assumes with STS
//! AssumeRole, through the SDK's assume-role provider.
//!
//! The provider is made once per session (one role and session name) and shared by the KMS and
//! SQS clients of every region, so they share one identity cache entry: the SDK's lazy identity
//! cache (the `SdkConfig`'s) keeps the credentials and fetches new ones before they expire, so
//! a session that ends mid-pass is renewed by the next call instead of failing it.
//!
//! AWS: "AssumeRole returns a set of temporary security credentials ... you can use to access
//! AWS resources"; the session name "is used to uniquely identify a session when the same role
//! is assumed by different principals" and appears in CloudTrail
//! (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).

use std::error::Error as StdError;
use std::fmt;

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::error::sources;

/// A role to assume and the session to assume it in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AssumedRole {
    /// The role's ARN.
    pub role_arn: String,
    /// The session name: names the cluster and the SecureQueue, for CloudTrail.
    pub session_name: String,
    /// The `sts:ExternalId` the role's trust policy requires, if any.
    pub external_id: Option<String>,
}

/// The credentials of `role`, assumed with the credentials of `config`, cached and refreshed by
/// the identity cache of the clients that use them.
pub async fn credentials(config: &SdkConfig, role: &AssumedRole) -> SharedCredentialsProvider {
    let mut builder = AssumeRoleProvider::builder(role.role_arn.clone())
        .configure(config)
        .session_name(role.session_name.clone());
    if let Some(id) = &role.external_id {
        builder = builder.external_id(id.clone());
    }
    SharedCredentialsProvider::new(Named {
        role_arn: role.role_arn.clone(),
        inner: builder.build().await,
    })
}

/// The SDK's provider, with its failures saying which role could not be assumed.
#[derive(Debug)]
struct Named {
    role_arn: String,
    inner: AssumeRoleProvider,
}

impl ProvideCredentials for Named {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.inner.provide_credentials().await.map_err(|e| {
                CredentialsError::provider_error(AssumeRoleFailed::of(&self.role_arn, &e))
            })
        })
    }
}

/// STS refused to let the operator assume a role, or could not be reached.
#[derive(Debug, Clone)]
pub struct AssumeRoleFailed {
    /// The role.
    pub role_arn: String,
    /// STS's error code (`AccessDenied`), or the failure class when STS sent none.
    pub code: String,
    /// STS's message, or the failure's.
    pub message: String,
}

impl AssumeRoleFailed {
    fn of(role_arn: &str, error: &CredentialsError) -> Self {
        let sdk = sources(error).find_map(|e| {
            e.downcast_ref::<aws_sdk_sts::error::SdkError<
                aws_sdk_sts::operation::assume_role::AssumeRoleError,
            >>()
        });
        let service = sdk.and_then(|e| e.as_service_error());
        let code = service
            .and_then(|e| e.code())
            .unwrap_or(match sdk {
                Some(aws_sdk_sts::error::SdkError::ServiceError(_)) | None => "CredentialsError",
                Some(_) => "Unreachable",
            })
            .to_string();
        let message = service
            .and_then(|e| e.message())
            .map(ToString::to_string)
            .unwrap_or_else(|| super::error::chain(error));
        Self {
            role_arn: role_arn.to_string(),
            code,
            message,
        }
    }

    /// Whether AWS answered rather than the network failing.
    pub fn answered(&self) -> bool {
        !matches!(self.code.as_str(), "Unreachable" | "CredentialsError")
    }

    /// The failure, found among the causes of an SDK error of a call that needed the
    /// credentials.
    pub fn within<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a Self> {
        sources(error).find_map(|e| e.downcast_ref())
    }
}

impl fmt::Display for AssumeRoleFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the operator could not assume {} (sts:AssumeRole failed with {}: {})",
            self.role_arn, self.code, self.message
        )
    }
}

impl StdError for AssumeRoleFailed {}
