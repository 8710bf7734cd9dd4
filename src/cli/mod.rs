//! The `securequeue` command line: one binary, one subcommand per task.

mod accounts;
mod apply;
#[cfg(feature = "bench")]
mod bench;
#[cfg(feature = "bench")]
mod bench_watch;
mod containment;
mod crd;
mod diff;
mod iam_policy;
mod input;
mod numbers;
mod operator;
mod output;
mod pipeline;
mod plan;
mod run;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `--version`: the crate's version and the commit it was built from (build.rs), so that an
/// image's binary can be traced to its sources.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SECUREQUEUE_COMMIT"),
    ")"
);

/// securequeue: least-privilege, KMS-encrypted Amazon SQS queues for Kubernetes.
#[derive(Parser, Debug)]
#[command(name = "securequeue", version = VERSION, about)]
pub struct Cli {
    /// Log format on standard error.
    #[arg(long, global = true, env = "SECUREQUEUE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

/// How log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// For people.
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print a CustomResourceDefinition as YAML: SecureQueue's, or SecureQueueAccount's.
    Crd(crd::CrdArgs),
    /// Validate SecureQueue manifests and print every AWS document and call the operator would
    /// make, without touching AWS.
    Plan(plan::PlanArgs),
    /// Converge SecureQueue manifests in AWS once, without Kubernetes: create or correct the
    /// key, the dead-letter queue and the queue, print each one's conditions, ARNs and AWS
    /// calls, and exit non-zero unless every one is Ready.
    ///
    /// apply keeps no state. A manifest that carries the status the operator recorded
    /// (`kubectl get sq -o yaml`: `status.identity`, or the ARNs of an older status) is held to
    /// it: a change of region, account, queue name or key alias is refused with nothing
    /// changed, and a spec without `region` stays in the recorded region. Without a status,
    /// apply cannot know where the resources already are, and builds what the spec says where
    /// it says.
    Apply(apply::ApplyCommand),
    /// Read AWS and print, for each SecureQueue, the writes a pass would make in order, each
    /// value they change (JSON paths, old and new) and who gains or loses which access; write
    /// nothing. Exit 0 when nothing would change, 2 when something would, 1 on an error.
    /// The same as `apply --dry-run`.
    Diff(pipeline::ApplyArgs),
    /// Delete SecureQueue manifests' resources from AWS as their deletionPolicy says: `Delete`
    /// removes the queue, the dead-letter queue and the alias and schedules the key's
    /// deletion; `Retain` leaves everything. A manifest's status is held to as by apply.
    Delete(pipeline::ApplyArgs),
    /// Converge N generated SecureQueues, then run one steady-state pass, and print wall time,
    /// AWS calls per queue, the latency-bound lower limit and peak memory; deletes them after.
    #[cfg(feature = "bench")]
    Bench(bench::BenchArgs),
    /// Create N SecureQueues on the Kubernetes cluster KUBECONFIG names (ones the operator's
    /// guardrail refuses, so no AWS is needed), start `securequeue run` on them, and print the
    /// time from its start to its first reconcile and its memory while watching them.
    #[cfg(feature = "bench")]
    BenchWatch(bench_watch::BenchWatchArgs),
    /// Check every generated policy against the SecureQueue's intent table: what it must allow
    /// and what must stay denied; with --operator, the operator's own IAM policy against the
    /// containment table. Exit non-zero if any row fails.
    Verify(verify::VerifyArgs),
    /// Explain the decision of one generated policy for one request.
    Explain(Box<verify::ExplainArgs>),
    /// Print the operator's own least-privilege IAM policy for an account and cluster id.
    IamPolicy(iam_policy::IamPolicyArgs),
    /// Run the Kubernetes controller: watch SecureQueues and keep their AWS resources converged.
    Run(Box<run::RunArgs>),
}

impl Cli {
    /// Runs the chosen subcommand; errors are printed to stderr.
    pub fn run(self) -> ExitCode {
        match self.command {
            Command::Crd(args) => crd::run(&args),
            Command::Plan(args) => plan::run(args),
            Command::Apply(args) => runtime().block_on(apply::apply(args)),
            Command::Diff(args) => runtime().block_on(diff::run(args)),
            Command::Delete(args) => runtime().block_on(apply::delete(args)),
            #[cfg(feature = "bench")]
            Command::Bench(args) => runtime().block_on(bench::run(args)),
            #[cfg(feature = "bench")]
            Command::BenchWatch(args) => runtime().block_on(bench_watch::run(args)),
            Command::IamPolicy(args) => iam_policy::run(args),
            Command::Verify(args) => verify::verify_command(args),
            Command::Explain(args) => verify::explain_command(*args),
            Command::Run(args) => runtime().block_on(run::run(*args)),
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 * 1024 * 1024)
        .build()
        .expect("the tokio runtime starts")
}
