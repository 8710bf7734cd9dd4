//! `securequeue plan`: offline validation and generation.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::accounts::{self, AccountsArgs};
use super::input;
use super::operator::OperatorArgs;
use super::output::Format;
use crate::plan::{self, Plan};

#[derive(Args, Debug)]
pub(super) struct PlanArgs {
    /// Manifest file with one or more SecureQueue documents; `-` reads standard input.
    #[arg(short = 'f', long = "filename", required = true)]
    files: Vec<PathBuf>,

    #[command(flatten)]
    operator: OperatorArgs,

    #[command(flatten)]
    accounts: AccountsArgs,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Json)]
    output: Format,
}

/// `plans` without those a collision refuses: a refused document is never printed as planned.
pub(super) fn without_later<T>(plans: Vec<T>, collisions: &[plan::Collision]) -> Vec<T> {
    plans
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !collisions.iter().any(|c| c.later == *i))
        .map(|(_, plan)| plan)
        .collect()
}

pub(super) fn run(args: PlanArgs) -> ExitCode {
    let env = match args.operator.offline_environment() {
        Ok(env) => env,
        Err(code) => return code,
    };
    let bindings = match args.accounts.read_or_exit() {
        Ok(bindings) => bindings,
        Err(code) => return code,
    };
    if args.output == Format::Text {
        eprintln!("error: -o text: a plan is printed as a document; use -o json or -o yaml");
        return ExitCode::from(2);
    }

    let inputs = input::read(&args.files);
    let mut failed = !inputs.errors.is_empty();
    for error in &inputs.errors {
        eprintln!("{error}");
    }
    let mut plans: Vec<Plan> = Vec::new();
    let mut sources: Vec<&str> = Vec::new();
    for (source, queue) in &inputs.queues {
        let built = accounts::environment(&bindings, queue, &env)
            .and_then(|env| plan::build_in_place(queue, &env));
        match built {
            Ok(plan) => {
                plans.push(plan);
                sources.push(source);
            }
            Err(problems) => {
                failed = true;
                for problem in problems {
                    eprintln!("{source}: {problem}");
                }
            }
        }
    }
    let collisions = plan::collisions(sources.into_iter().zip(&plans));
    for collision in &collisions {
        failed = true;
        eprintln!("{collision}");
    }
    let plans = without_later(plans, &collisions);
    let documents = inputs.documents;
    if documents == 0 {
        return ExitCode::FAILURE;
    }

    // One document prints as itself, several as a list.
    let output = match (documents, plans.first()) {
        (1, Some(plan)) => args.output.document(plan),
        (1, None) => None,
        _ => args.output.document(&plans),
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
