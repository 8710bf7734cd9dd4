//! Who the operator is to AWS, the caller: STS GetCallerIdentity, and the role ARN behind an
//! assumed-role session.

use super::error::{AwsError, Endpoint, mapper};

/// The principal the AWS credentials belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The account.
    pub account: String,
    /// The principal's ARN: an assumed-role session, a role, or a user.
    pub arn: String,
}

impl Caller {
    /// Asks STS, at `endpoint`, who the credentials belong to.
    pub async fn ask(sts: &aws_sdk_sts::Client, endpoint: &Endpoint) -> Result<Self, AwsError> {
        let out = sts.get_caller_identity().send().await.map_err(mapper(
            "sts",
            "GetCallerIdentity",
            endpoint,
        ))?;
        Ok(Self {
            account: out.account().unwrap_or_default().to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
        })
    }
}

/// The IAM role ARN behind a caller ARN. A session ARN
/// (`arn:aws:sts::111122223333:assumed-role/Name/session`) carries the role's name but not its
/// path, so the result is right only for roles at path `/`; roles with a path need
/// `--operator-role-arn`.
pub fn role_arn(caller_arn: &str) -> Result<String, String> {
    let parts: Vec<&str> = caller_arn.splitn(6, ':').collect();
    let refuse = || {
        format!(
            "the AWS credentials belong to `{caller_arn}`, which is not an IAM role; run the operator as a role, or name it with --operator-role-arn"
        )
    };
    let [_, partition, service, _, account, resource] = parts[..] else {
        return Err(refuse());
    };
    match (service, resource.split_once('/')) {
        ("iam", Some(("role", _))) => Ok(caller_arn.to_string()),
        ("sts", Some(("assumed-role", rest))) => {
            let name = rest.split('/').next().unwrap_or_default();
            Ok(crate::arn::Arn::role(partition, account, name))
        }
        _ => Err(refuse()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_maps_to_its_role() {
        assert_eq!(
            role_arn("arn:aws:sts::111122223333:assumed-role/securequeue/i-0abc").unwrap(),
            "arn:aws:iam::111122223333:role/securequeue"
        );
        assert_eq!(
            role_arn("arn:aws-cn:sts::111122223333:assumed-role/op/botocore-session-1").unwrap(),
            "arn:aws-cn:iam::111122223333:role/op"
        );
    }

    #[test]
    fn a_role_arn_is_kept_with_its_path() {
        let arn = "arn:aws:iam::111122223333:role/platform/securequeue";
        assert_eq!(role_arn(arn).unwrap(), arn);
    }

    #[test]
    fn users_and_garbage_are_refused_with_the_flag_to_use() {
        for arn in ["arn:aws:iam::111122223333:user/alice", "nonsense", ""] {
            let err = role_arn(arn).unwrap_err();
            assert!(err.contains("--operator-role-arn"), "{err}");
        }
    }
}
