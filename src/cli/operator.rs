//! The flags every planning subcommand shares: who the operator is and the platform team's
//! guardrails ([`OperatorArgs`]); and, for the subcommands that call AWS, how to reach it
//! ([`AwsArgs`]). `plan`, `verify` and `explain` thus plan exactly as `apply` and `run` do.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::aws::request_quota::{self, QuotaOverride, QuotaSettings};
use crate::aws::{Aws, ConnectOptions, caller};
use crate::fence::WriteFence;
use crate::guardrails::{self, Guardrails};
use crate::reconcile::Reconciler;
use crate::resolve::Environment;

/// Who the operator is, and the guardrails it holds every SecureQueue to.
#[derive(Args, Debug, Clone)]
pub(super) struct OperatorArgs {
    /// The operator's region, for specs that name none; otherwise the AWS SDK's chain.
    #[arg(long, env = "AWS_REGION")]
    region: Option<String>,

    /// The IAM role the operator runs as; it administers every key and queue it makes.
    /// Required by the subcommands that do not call AWS; the others default to the role behind
    /// the AWS credentials (STS GetCallerIdentity). A session ARN does not carry the role's
    /// path, so a role with a path (`role/platform/x`) must be named.
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

    #[command(flatten)]
    guardrails: GuardrailArgs,
}

/// The platform team's guardrails, the same flags for every subcommand.
#[derive(Args, Debug, Clone)]
struct GuardrailArgs {
    /// Guardrail: accounts (comma-separated) whose principals and sources SecureQueues may
    /// name besides the operator's own.
    #[arg(long, env = "SECUREQUEUE_ALLOWED_ACCOUNT_IDS", value_delimiter = ',',
          value_parser = guardrails::account_id)]
    allowed_account_ids: Vec<String>,

    /// Guardrail: the organizationId every SecureQueue must set.
    #[arg(long, env = "SECUREQUEUE_REQUIRED_ORGANIZATION_ID", value_parser = guardrails::organization_id)]
    required_organization_id: Option<String>,

    /// Guardrail: roles (comma-separated) added to every key's and queue's administrators.
    #[arg(long, env = "SECUREQUEUE_ADMIN_ROLE_ARNS", value_delimiter = ',',
          value_parser = guardrails::role_arn)]
    admin_role_arns: Vec<String>,

    /// Guardrail: a prefix every queue name must start with; default names get it. The
    /// operator's IAM policy (`securequeue iam-policy`) is scoped to it.
    #[arg(long, env = "SECUREQUEUE_QUEUE_NAME_PREFIX", value_parser = guardrails::queue_name_prefix)]
    queue_name_prefix: Option<String>,

    /// Guardrail: a prefix every key alias must start with (`alias/...`); default aliases
    /// outside it get it. Give `securequeue iam-policy` the same prefix.
    #[arg(long, env = "SECUREQUEUE_KEY_ALIAS_PREFIX", value_parser = guardrails::key_alias_prefix)]
    key_alias_prefix: Option<String>,

    /// Guardrail: namespaces (comma-separated; `*` for all) whose `management: Observe` and
    /// `Adopt` SecureQueues may name any queue and key alias. Elsewhere they name only queues
    /// starting with `<namespace>-` and aliases under `alias/securequeue/<namespace>/`, and
    /// observe nothing of another namespace's SecureQueues.
    #[arg(long, env = "SECUREQUEUE_CROSS_TENANT_NAMESPACES", value_delimiter = ',',
          value_parser = guardrails::tenancy::namespace)]
    cross_tenant_namespaces: Vec<String>,
}

impl GuardrailArgs {
    fn guardrails(&self) -> Guardrails {
        let given = |prefix: &Option<String>| prefix.clone().filter(|p| !p.is_empty());
        Guardrails {
            allowed_account_ids: self.allowed_account_ids.clone(),
            required_organization_id: self.required_organization_id.clone(),
            admin_role_arns: self.admin_role_arns.clone(),
            queue_name_prefix: given(&self.queue_name_prefix),
            key_alias_prefix: given(&self.key_alias_prefix),
            cross_tenant_namespaces: self.cross_tenant_namespaces.clone(),
        }
    }
}

impl OperatorArgs {
    /// The configuration of an operator running as `operator_role_arn` in `region`, or every
    /// problem with the flags.
    fn environment_as(
        &self,
        operator_role_arn: String,
        region: Option<String>,
    ) -> Result<Environment, Vec<String>> {
        let env = Environment {
            guardrails: self.guardrails.guardrails(),
            ..Environment::for_operator(
                operator_role_arn,
                self.account_id.clone(),
                region,
                self.cluster_id.clone(),
                self.allow_cross_account,
            )
        };
        let problems = env.validate();
        if problems.is_empty() {
            Ok(env)
        } else {
            Err(problems.iter().map(ToString::to_string).collect())
        }
    }

    /// The configuration for a subcommand that does not call AWS, or exit code 2 after
    /// printing what is wrong with the flags.
    pub(super) fn offline_environment(&self) -> Result<Environment, ExitCode> {
        let Some(role) = self.operator_role_arn.clone() else {
            eprintln!(
                "error: --operator-role-arn is required: without AWS credentials to ask, name the IAM role the operator runs as"
            );
            return Err(ExitCode::from(2));
        };
        self.environment_as(role, self.region.clone())
            .map_err(|problems| {
                for problem in problems {
                    eprintln!("error: {problem}");
                }
                ExitCode::from(2)
            })
    }
}

/// How to reach AWS, for the subcommands that call it.
#[derive(Args, Debug, Clone)]
pub(super) struct AwsArgs {
    /// Endpoint URL for every AWS service, for local emulators such as moto.
    #[arg(long, env = "AWS_ENDPOINT_URL", value_parser = endpoint_url)]
    endpoint_url: Option<String>,

    /// Seconds one attempt of an AWS call may take before it is abandoned and retried (up to 4
    /// attempts per call).
    /// Default 20; for `run` with leader election, at most half the Lease less half a second
    /// (7 at the default 15 s Lease), which is also the default, so that a replica that lost the
    /// Lease has finished its last write before another can take it.
    #[arg(long, env = "SECUREQUEUE_AWS_ATTEMPT_TIMEOUT_SECONDS",
          value_parser = super::numbers::between::<u64>(1, 300))]
    aws_attempt_timeout_seconds: Option<u64>,

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

impl AwsArgs {
    /// The endpoint URL given for every AWS service, if any.
    #[cfg(feature = "bench")]
    pub(super) fn endpoint_url(&self) -> Option<&str> {
        self.endpoint_url.as_deref()
    }

    /// The attempt timeout given, if any.
    pub(super) fn attempt_timeout(&self) -> Option<Duration> {
        self.aws_attempt_timeout_seconds.map(Duration::from_secs)
    }

    /// How these flags and `operator`'s region reach AWS.
    pub(super) fn connect_options(&self, operator: &OperatorArgs) -> ConnectOptions {
        ConnectOptions {
            endpoint_url: self.endpoint_url.clone(),
            region: operator.region.clone(),
            attempt_timeout: self.aws_attempt_timeout_seconds.map(Duration::from_secs),
            quotas: QuotaSettings::new(self.aws_quota_share, self.aws_quotas.clone()),
            fence: WriteFence::open(),
            #[cfg(feature = "bench")]
            added_latency: None,
            #[cfg(feature = "test-hooks")]
            clock: None,
        }
    }

    /// Connects to AWS and settles the operator's identity; errors name the flag to fix.
    pub(super) async fn reconciler(
        &self,
        operator: &OperatorArgs,
    ) -> Result<Reconciler, Vec<String>> {
        self.reconciler_over(operator, &self.connect_options(operator))
            .await
    }

    /// [`Self::reconciler`], connecting with `options`.
    pub(super) async fn reconciler_over(
        &self,
        operator: &OperatorArgs,
        options: &ConnectOptions,
    ) -> Result<Reconciler, Vec<String>> {
        let aws = Aws::connect(options).await;
        let operator_role_arn = match &operator.operator_role_arn {
            Some(arn) => arn.clone(),
            None => {
                let caller = aws.caller().await.map_err(|e| {
                    vec![format!(
                        "--operator-role-arn: not given, and asking STS who the credentials belong to failed: {e}"
                    )]
                })?;
                caller::role_arn(&caller.arn).map_err(|e| vec![e])?
            }
        };
        let region = operator.region.clone().or_else(|| aws.region());
        let env = operator.environment_as(operator_role_arn, region)?;
        Ok(Reconciler::new(aws, env))
    }
}

/// An endpoint URL, as `--endpoint-url` takes it: `http://` or `https://` and a host, checked at
/// start, so a typo is named here rather than in every SecureQueue's condition as an outage.
fn endpoint_url(url: &str) -> Result<String, String> {
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .map(|rest| rest.split('/').next().unwrap_or_default());
    match host {
        Some(host) if !host.is_empty() && host.chars().all(|c| c.is_ascii_graphic()) => {
            Ok(url.to_string())
        }
        _ => Err(format!(
            "{} is not an http:// or https:// URL with a host, such as http://127.0.0.1:5000",
            crate::quote::quoted(url)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_url_needs_a_scheme_and_a_host() {
        for good in [
            "http://127.0.0.1:5000",
            "https://kms.eu-west-1.amazonaws.com/",
        ] {
            assert_eq!(endpoint_url(good).as_deref(), Ok(good));
        }
        for bad in [
            "not a url",
            "127.0.0.1:5000",
            "http://",
            "http://a b",
            "ftp://x",
        ] {
            assert!(endpoint_url(bad).is_err(), "{bad}");
        }
    }
}
