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

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};

use super::error::AssumeRoleFailed;

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
