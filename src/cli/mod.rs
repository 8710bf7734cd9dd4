//! The `securequeue` command line: one binary, one subcommand per task.

mod crd;
mod plan;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// securequeue: least-privilege, KMS-encrypted Amazon SQS queues for Kubernetes.
#[derive(Parser, Debug)]
#[command(name = "securequeue", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the SecureQueue CustomResourceDefinition as YAML.
    Crd,
    /// Validate SecureQueue manifests and print every AWS document and call the operator would
    /// make, without touching AWS.
    Plan(plan::PlanArgs),
}

impl Cli {
    /// Runs the chosen subcommand; errors are printed to stderr.
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Crd => crd::run(),
            Command::Plan(args) => plan::run(args),
        }
    }
}
