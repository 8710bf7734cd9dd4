//! `securequeue iam-policy`: print the operator's own least-privilege IAM policy; for a target
//! account, also the trust policy of the role the operator assumes there.

use std::process::ExitCode;

use clap::Args;

use crate::policy::operator::{OperatorScope, assume_role_statements, operator_policy_document};
use crate::policy::trust::trust_policy;
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
    #[arg(long, env = "SECUREQUEUE_QUEUE_NAME_PREFIX", default_value = "", value_parser = guardrails::queue_name_prefix)]
    queue_name_prefix: String,

    /// The operator's --key-alias-prefix: aliases are created, moved and deleted only under it.
    #[arg(long, env = "SECUREQUEUE_KEY_ALIAS_PREFIX", default_value = "", value_parser = guardrails::key_alias_prefix)]
    key_alias_prefix: String,

    /// For a target account (a SecureQueueAccount's): the operator's own role, in the cluster's
    /// account, which alone may assume the target role. The output is then
    /// `{"permissionsPolicy": ..., "trustPolicy": ...}`, both for the role in --account-id.
    #[arg(long, value_name = "OPERATOR_ROLE_ARN")]
    trusted_principal: Option<String>,

    /// With --trusted-principal: the external id the trust policy requires, the
    /// SecureQueueAccount's spec.externalId.
    #[arg(long, requires = "trusted_principal")]
    external_id: Option<String>,

    /// For the operator's own role: the roleArn of each SecureQueueAccount it is to use
    /// (comma-separated or repeated); the policy then lets it assume those roles, and no other.
    #[arg(long, value_delimiter = ',', conflicts_with = "trusted_principal")]
    assumable_role_arn: Vec<String>,
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
    if let Err(problem) = trust_flags(&args) {
        eprintln!("error: {problem}");
        return ExitCode::from(2);
    }
    let mut document = operator_policy_document(&OperatorScope {
        partition: args.partition,
        account_id: args.account_id,
        queue_name_prefix: args.queue_name_prefix,
        key_alias_prefix: args.key_alias_prefix,
    });
    document
        .statement
        .extend(assume_role_statements(&args.assumable_role_arn));
    let policy = document.to_value();
    let output = match &args.trusted_principal {
        None => policy,
        Some(principal) => serde_json::json!({
            "permissionsPolicy": policy,
            "trustPolicy": trust_policy(principal, args.external_id.as_deref()).to_value(),
        }),
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&output).expect("the policy serializes")
    );
    ExitCode::SUCCESS
}

/// Checks --trusted-principal, --external-id and --assumable-role-arn, naming the flag at fault.
fn trust_flags(args: &IamPolicyArgs) -> Result<(), String> {
    for role in &args.assumable_role_arn {
        let parsed =
            arn::parse_role(role).map_err(|reason| format!("--assumable-role-arn: {reason}"))?;
        if parsed.arn.account == args.account_id {
            return Err(format!(
                "--assumable-role-arn: {role} is in the operator's own account {}; name the roles of the bound accounts",
                args.account_id,
                role = crate::quote::quoted(role)
            ));
        }
    }
    if let Some(principal) = &args.trusted_principal {
        let role = arn::parse_role(principal)
            .map_err(|reason| format!("--trusted-principal: {reason}"))?;
        if role.arn.account == args.account_id {
            return Err(format!(
                "--trusted-principal: {principal} is in account {}, the target account itself; name the operator's own role, in the cluster's account",
                args.account_id,
                principal = crate::quote::quoted(principal)
            ));
        }
    }
    if let Some(id) = &args.external_id
        && !crate::accounts::is_external_id(id)
    {
        return Err(format!(
            "--external-id: {}",
            crate::accounts::EXTERNAL_ID_RULE
        ));
    }
    Ok(())
}
