//! The flags of the subcommands that talk to AWS, and the reconciler they configure.

use std::time::Duration;

use clap::Args;

use crate::aws::request_quota::{self, QuotaOverride, QuotaSettings};
use crate::aws::{Aws, ConnectOptions, identity};
use crate::reconcile::Reconciler;
use crate::resolve::Environment;

/// How to reach AWS and who the operator is.
#[derive(Args, Debug, Clone)]
pub(super) struct OperatorArgs {
    /// Endpoint URL for every AWS service, for local emulators such as moto.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    endpoint_url: Option<String>,

    /// The operator's region, for specs that name none; otherwise the AWS SDK's chain.
    #[arg(long, env = "AWS_REGION")]
    region: Option<String>,

    /// The IAM role the operator runs as; it administers every key and queue it makes.
    /// Defaults to the role behind the AWS credentials (STS GetCallerIdentity). A session ARN
    /// does not carry the role's path, so a role with a path (`role/platform/x`) must be named.
    #[arg(long, env = "SECUREQUEUE_OPERATOR_ROLE_ARN")]
    operator_role_arn: Option<String>,

    /// AWS account the key and queues are created in. Defaults to the operator role's account.
    #[arg(long, env = "SECUREQUEUE_ACCOUNT_ID")]
    account_id: Option<String>,

    /// Identifies this cluster in the ownership tags.
    #[arg(long, env = "SECUREQUEUE_CLUSTER_ID", default_value = "default")]
    cluster_id: String,

    /// Allow principals and sources of accounts other than the operator's.
    #[arg(long, env = "SECUREQUEUE_ALLOW_CROSS_ACCOUNT")]
    allow_cross_account: bool,

    /// Seconds one attempt of an AWS call may take before it is abandoned and retried (up to 4
    /// attempts per call).
    #[arg(long, env = "SECUREQUEUE_AWS_ATTEMPT_TIMEOUT_SECONDS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    aws_attempt_timeout_seconds: u64,

    /// The share of each AWS request quota the operator uses, leaving the rest to the account's
    /// other clients: 0.5 keeps to half of KMS's documented quota of every operation (2.5
    /// CreateKey calls per second by default). 1 uses all of it.
    #[arg(long, env = "SECUREQUEUE_AWS_QUOTA_SHARE", default_value = "0.5",
          value_parser = request_quota::parse_share)]
    aws_quota_share: f64,

    /// The account's request quota of an operation where it is not AWS's default (raised
    /// through Service Quotas), as `kms:CreateKey=20`; comma-separated or repeated. The share
    /// applies to it too.
    #[arg(long = "aws-quota", env = "SECUREQUEUE_AWS_QUOTAS", value_delimiter = ',',
          value_parser = QuotaOverride::parse)]
    aws_quotas: Vec<QuotaOverride>,
}

impl OperatorArgs {
    /// The endpoint URL given for every AWS service, if any.
    pub(super) fn endpoint_url(&self) -> Option<&str> {
        self.endpoint_url.as_deref()
    }

    /// Connects to AWS and settles the operator's identity; errors name the flag to fix.
    pub(super) async fn reconciler(
        &self,
        added_latency: Option<Duration>,
    ) -> Result<Reconciler, Vec<String>> {
        let aws = Aws::connect(&ConnectOptions {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            added_latency,
            attempt_timeout: Some(Duration::from_secs(self.aws_attempt_timeout_seconds)),
            quotas: QuotaSettings::new(self.aws_quota_share, self.aws_quotas.clone()),
        })
        .await;
        let operator_role_arn = match &self.operator_role_arn {
            Some(arn) => arn.clone(),
            None => {
                let caller = aws.caller().await.map_err(|e| {
                    vec![format!(
                        "--operator-role-arn: not given, and asking STS who the credentials belong to failed: {e}"
                    )]
                })?;
                identity::role_arn(&caller.arn).map_err(|e| vec![e])?
            }
        };
        let env = Environment::for_operator(
            operator_role_arn,
            self.account_id.clone(),
            self.region.clone().or_else(|| aws.region()),
            self.cluster_id.clone(),
            self.allow_cross_account,
        );
        let problems = env.validate();
        if !problems.is_empty() {
            return Err(problems.iter().map(ToString::to_string).collect());
        }
        Ok(Reconciler::new(aws, env))
    }
}
