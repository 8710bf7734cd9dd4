//! What `apply`, `delete` and `diff` share: their arguments, reading and checking every
//! manifest before anything reaches AWS, and printing a pass's conditions.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::plan;
use crate::reconcile::{Reconciler, StepReport};

use super::accounts::AccountsArgs;
use super::input;
use super::operator::{AwsArgs, OperatorArgs};
use super::output::Format;

/// The arguments of every subcommand that works on manifests in AWS.
#[derive(Args, Debug)]
pub(super) struct ApplyArgs {
    /// Manifest file with one or more SecureQueue documents; `-` reads standard input.
    #[arg(short = 'f', long = "filename", required = true)]
    files: Vec<PathBuf>,

    #[command(flatten)]
    operator: OperatorArgs,

    #[command(flatten)]
    aws: AwsArgs,

    #[command(flatten)]
    accounts: AccountsArgs,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Text)]
    pub(super) output: Format,
}

/// Reads and checks every document, then connects: nothing reaches AWS unless every document
/// is valid.
pub(super) async fn prepare(args: &ApplyArgs) -> Result<(Reconciler, input::Inputs), ExitCode> {
    let inputs = input::read(&args.files);
    let bindings = args.accounts.read();
    let mut errors = inputs.errors.clone();
    errors.extend(bindings.as_ref().err().into_iter().flatten().cloned());
    if !errors.is_empty() {
        for error in &errors {
            eprintln!("error: {error}");
        }
        eprintln!("nothing was changed in AWS");
        return Err(ExitCode::FAILURE);
    }
    let reconciler = args
        .aws
        .reconciler(&args.operator)
        .await
        .map_err(|errors| {
            for error in errors {
                eprintln!("error: {error}");
            }
            ExitCode::from(2)
        })?
        .with_accounts(bindings.unwrap_or_default());
    let mut invalid = false;
    let mut plans = Vec::new();
    for (source, queue) in &inputs.queues {
        let planned = reconciler
            .tenant(queue)
            .map_err(|problem| vec![problem])
            .and_then(|tenancy| plan::build_in_place(queue, &tenancy.env));
        match planned {
            Ok(plan) => plans.push((source.as_str(), plan)),
            Err(problems) => {
                invalid = true;
                for problem in problems {
                    eprintln!("error: {source}: {problem}");
                }
            }
        }
    }
    for collision in plan::collisions(plans.iter().map(|(source, plan)| (*source, plan))) {
        invalid = true;
        eprintln!("error: {collision}");
    }
    if invalid {
        eprintln!("nothing was changed in AWS");
        return Err(ExitCode::FAILURE);
    }
    Ok((reconciler, inputs))
}

/// Prints a SecureQueue's name, then one line per condition.
pub(super) fn print_steps(name: &str, steps: &[StepReport]) {
    println!("{name}");
    for step in steps {
        println!(
            "  {:<22} {:<8} {:<16} {}",
            step.condition,
            step.status.as_str(),
            step.reason.as_str(),
            step.message
        );
    }
}
