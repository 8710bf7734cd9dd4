//! `securequeue plan`: offline validation and generation.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::input;
use crate::plan::{self, Plan};
use crate::resolve::Environment;

#[derive(Args, Debug)]
pub(super) struct PlanArgs {
    /// Manifest file with one or more SecureQueue documents; `-` reads standard input.
    #[arg(short = 'f', long = "filename", required = true)]
    files: Vec<PathBuf>,

    #[command(flatten)]
    offline: OfflineArgs,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Json)]
    output: Format,
}

/// The operator's configuration for the offline commands (`plan`, `verify`, `explain`).
#[derive(Args, Debug)]
pub(super) struct OfflineArgs {
    /// AWS account the key and queues are created in. Defaults to the operator role's account.
    #[arg(long, env = "SECUREQUEUE_ACCOUNT_ID")]
    account_id: Option<String>,

    /// The operator's region, for specs that name none.
    #[arg(long, env = "AWS_REGION")]
    region: Option<String>,

    /// The IAM role the operator runs as; it administers every key and queue it makes.
    #[arg(long, env = "SECUREQUEUE_OPERATOR_ROLE_ARN")]
    operator_role_arn: String,

    /// Identifies this cluster in the ownership tags.
    #[arg(long, env = "SECUREQUEUE_CLUSTER_ID", default_value = "default")]
    cluster_id: String,

    /// Allow principals and sources of accounts other than --account-id.
    #[arg(long, env = "SECUREQUEUE_ALLOW_CROSS_ACCOUNT")]
    allow_cross_account: bool,
}

impl OfflineArgs {
    /// The configuration, or exit code 2 after printing what is wrong with the flags.
    pub(super) fn environment(&self) -> Result<Environment, ExitCode> {
        let env = Environment::for_operator(
            self.operator_role_arn.clone(),
            self.account_id.clone(),
            self.region.clone(),
            self.cluster_id.clone(),
            self.allow_cross_account,
        );
        let problems = env.validate();
        if problems.is_empty() {
            return Ok(env);
        }
        for problem in problems {
            eprintln!("error: {problem}");
        }
        Err(ExitCode::from(2))
    }
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Format {
    Json,
    Yaml,
}

pub(super) fn run(args: PlanArgs) -> ExitCode {
    let env = match args.offline.environment() {
        Ok(env) => env,
        Err(code) => return code,
    };

    let inputs = input::read(&args.files);
    let mut failed = !inputs.errors.is_empty();
    for error in &inputs.errors {
        eprintln!("{error}");
    }
    let mut plans: Vec<Plan> = Vec::new();
    for (source, queue) in &inputs.queues {
        match plan::build_in_place(queue, &env) {
            Ok(plan) => plans.push(plan),
            Err(problems) => {
                failed = true;
                for problem in problems {
                    eprintln!("{source}: {problem}");
                }
            }
        }
    }
    let documents = inputs.documents;
    if documents == 0 {
        return ExitCode::FAILURE;
    }

    let output = match (documents, args.output) {
        (1, Format::Json) => plans.first().map(pretty_json),
        (1, Format::Yaml) => plans
            .first()
            .map(|p| serde_saphyr::to_string(p).expect("plans serialize")),
        (_, Format::Json) => Some(pretty_json(&plans)),
        (_, Format::Yaml) => Some(serde_saphyr::to_string(&plans).expect("plans serialize")),
    };
    if let Some(output) = output.filter(|_| !(plans.is_empty() && failed)) {
        println!("{}", output.trim_end());
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn pretty_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("plans serialize")
}
