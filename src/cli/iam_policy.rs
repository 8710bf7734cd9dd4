//! `securequeue iam-policy`: print the operator's own least-privilege IAM policy.

use std::process::ExitCode;

use clap::Args;

use crate::policy::operator::{OperatorScope, operator_policy};
use crate::{arn, guardrails};

#[derive(Args, Debug)]
pub(super) struct IamPolicyArgs {
    /// The account of the keys and queues.
    #[arg(long, env = "SECUREQUEUE_ACCOUNT_ID")]
    account_id: String,

    /// The partition: aws, aws-cn or aws-us-gov.
    #[arg(long, default_value = "aws")]
    partition: String,

    /// The operator's --queue-name-prefix: queues are touched only under it.
    #[arg(long, env = "SECUREQUEUE_QUEUE_NAME_PREFIX", default_value = "")]
    queue_name_prefix: String,

    /// The operator's --key-alias-prefix: aliases are created, moved and deleted only under it.
    #[arg(long, env = "SECUREQUEUE_KEY_ALIAS_PREFIX", default_value = "", value_parser = guardrails::key_alias_prefix)]
    key_alias_prefix: String,
}

pub(super) fn run(args: IamPolicyArgs) -> ExitCode {
    if !arn::is_account_id(&args.account_id) {
        eprintln!(
            "error: --account-id: `{}` is not a 12-digit account id",
            args.account_id
        );
        return ExitCode::from(2);
    }
    if !["aws", "aws-cn", "aws-us-gov"].contains(&args.partition.as_str()) {
        eprintln!(
            "error: --partition: `{}` is not aws, aws-cn or aws-us-gov",
            args.partition
        );
        return ExitCode::from(2);
    }
    let policy = operator_policy(&OperatorScope {
        partition: args.partition,
        account_id: args.account_id,
        queue_name_prefix: args.queue_name_prefix,
        key_alias_prefix: args.key_alias_prefix,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&policy).expect("the policy serializes")
    );
    ExitCode::SUCCESS
}
