//! Working in another account: the credentials of a role the operator assumes with STS
//! AssumeRole.
//!
//! One STS client, the operator's, assumes every role; a session (one role and session name) is
//! a small provider that names the role and the session ([`credentials`]). The SDK's lazy
//! identity cache (the `SdkConfig`'s, shared by every client made from it) keeps the credentials
//! of each `SharedCredentialsProvider` apart (one cache partition per provider) and asks the
//! provider again only shortly before the expiry AssumeRole reports: one AssumeRole per session
//! and credentials lifetime, however many clients and passes use it, and a session that ends
//! mid-pass is renewed by the next call instead of failing it.
//!
//! AWS: "AssumeRole returns a set of temporary security credentials ... you can use to access
//! AWS resources", with their `Expiration`; the session name "is used to uniquely identify a
//! session when the same role is assumed by different principals" and appears in CloudTrail
//! (<https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>).

use std::error::Error as StdError;
use std::fmt;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use aws_sdk_sts::error::SdkError;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
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

/// The credentials of `role`, assumed by `sts` (a client with the operator's own credentials)
/// when first needed, then cached and refreshed by the identity cache of the clients that use
/// this provider.
pub fn credentials(sts: &aws_sdk_sts::Client, role: &AssumedRole) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Session {
        sts: sts.clone(),
        role: role.clone(),
    })
}

/// One session's provider: the shared STS client and the names it assumes the role with.
#[derive(Debug)]
struct Session {
    sts: aws_sdk_sts::Client,
    role: AssumedRole,
}

impl Session {
    /// Assumes the role once, for the credentials and when they expire.
    async fn assume(&self) -> Result<Credentials, AssumeRoleFailed> {
        let role_arn = &self.role.role_arn;
        let out = self
            .sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(&self.role.session_name)
            .set_external_id(self.role.external_id.clone())
            .send()
            .await
            .map_err(|e| AssumeRoleFailed::of(role_arn, &e))?;
        let issued = out.credentials.ok_or_else(|| {
            AssumeRoleFailed::unusable(role_arn, "STS answered without credentials")
        })?;
        let expiry = SystemTime::try_from(issued.expiration).map_err(|_| {
            AssumeRoleFailed::unusable(role_arn, "the credentials' expiration is out of range")
        })?;
        // The expiry tells the identity cache when to assume the role again.
        Ok(Credentials::new(
            issued.access_key_id,
            issued.secret_access_key,
            Some(issued.session_token),
            Some(expiry),
            "AssumeRole",
        ))
    }
}

impl ProvideCredentials for Session {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            self.assume()
                .await
                .map_err(CredentialsError::provider_error)
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
    fn of(role_arn: &str, error: &SdkError<AssumeRoleError>) -> Self {
        let service = error.as_service_error();
        let code = service.and_then(|e| e.code()).unwrap_or(match error {
            SdkError::ServiceError(_) => "CredentialsError",
            _ => "Unreachable",
        });
        let message = service
            .and_then(|e| e.message())
            .map(ToString::to_string)
            .unwrap_or_else(|| super::error::chain(error));
        Self {
            role_arn: role_arn.to_string(),
            code: code.to_string(),
            message,
        }
    }

    /// STS answered, but not with credentials the operator can use.
    fn unusable(role_arn: &str, message: &str) -> Self {
        Self {
            role_arn: role_arn.to_string(),
            code: "CredentialsError".to_string(),
            message: message.to_string(),
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
