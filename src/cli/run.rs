//! `securequeue run`: the Kubernetes controller.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::aws::{ConnectOptions, DEFAULT_ATTEMPT_TIMEOUT};
use crate::controller::leader::Timing;
use crate::controller::{self, Config, LeaderElection};
use crate::fence::WriteFence;

use super::operator::{AwsArgs, OperatorArgs};

#[derive(Args, Debug)]
pub(super) struct RunArgs {
    #[command(flatten)]
    operator: OperatorArgs,

    #[command(flatten)]
    aws: AwsArgs,

    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "SECUREQUEUE_NAMESPACE")]
    namespace: Option<String>,

    /// Watch only SecureQueues matching this label selector, e.g. `team=payments`.
    #[arg(long, env = "SECUREQUEUE_LABEL_SELECTOR")]
    label_selector: Option<String>,

    /// Seconds between drift checks of a Ready SecureQueue.
    #[arg(long, env = "SECUREQUEUE_RESYNC_SECONDS", default_value_t = 600,
          value_parser = super::numbers::between::<u64>(10, 86_400))]
    resync_seconds: u64,

    /// SecureQueues reconciled at once. A pass waiting for its turn at an AWS request budget
    /// costs little, and enough passes in flight keep every budget busy during an onboarding
    /// wave.
    #[arg(long, env = "SECUREQUEUE_CONCURRENCY", default_value_t = 32,
          value_parser = super::numbers::between::<u16>(1, 256))]
    concurrency: u16,

    /// Address of the /metrics, /healthz and /readyz endpoints.
    #[arg(long, env = "SECUREQUEUE_HTTP_ADDRESS", default_value = "0.0.0.0:8080")]
    http_address: SocketAddr,

    /// Turn leader election off (only for a single replica, e.g. local runs).
    #[arg(long, env = "SECUREQUEUE_NO_LEADER_ELECTION")]
    no_leader_election: bool,

    /// Namespace of the leader Lease (in a pod: its own namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    lease_namespace: String,

    /// Name of the leader Lease.
    #[arg(
        long,
        env = "SECUREQUEUE_LEASE_NAME",
        default_value = "securequeue-operator"
    )]
    lease_name: String,

    /// This replica's identity in the Lease (in a pod: its name). Defaults to the host name.
    #[arg(long, env = "POD_NAME")]
    pod_name: Option<String>,

    /// Seconds a Lease holds without renewal. The leader renews it six times as often, and
    /// writes nothing once half of it has passed since its last successful renewal began.
    #[arg(long, env = "SECUREQUEUE_LEASE_SECONDS", default_value_t = 15,
          value_parser = super::numbers::between::<u64>(3, 300))]
    lease_seconds: u64,
}

/// The fence the operator's writes pass, and how long one AWS attempt may take: with leader
/// election, at most [`Timing::longest_attempt`], so that the last write of a replica that lost
/// the Lease is over before another replica can take it (`controller::leader`).
fn fencing(args: &RunArgs) -> Result<(WriteFence, Option<Duration>), String> {
    let given = args.aws.attempt_timeout();
    if args.no_leader_election {
        return Ok((WriteFence::open(), given));
    }
    let timing = Timing::of(Duration::from_secs(args.lease_seconds));
    let longest = timing.longest_attempt;
    match given {
        Some(attempt) if attempt > longest => Err(format!(
            "--aws-attempt-timeout-seconds {} is longer than --lease-seconds {} allows ({} s: half the Lease, less half a second): a replica that lost the Lease could still be sending a write when another takes over; shorten the attempt timeout or lengthen the Lease",
            attempt.as_secs(),
            args.lease_seconds,
            longest.as_secs_f64()
        )),
        Some(attempt) => Ok((WriteFence::elected(), Some(attempt))),
        None => Ok((
            WriteFence::elected(),
            Some(longest.min(DEFAULT_ATTEMPT_TIMEOUT)),
        )),
    }
}

pub(super) async fn run(args: RunArgs) -> ExitCode {
    let (fence, attempt_timeout) = match fencing(&args) {
        Ok(fencing) => fencing,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let options = ConnectOptions {
        attempt_timeout,
        fence: fence.clone(),
        ..args.aws.connect_options(&args.operator)
    };
    let reconciler = match args.aws.reconciler_over(&args.operator, &options).await {
        Ok(reconciler) => reconciler,
        Err(errors) => {
            for error in errors {
                eprintln!("error: {error}");
            }
            return ExitCode::from(2);
        }
    };
    tracing::info!(budgets = %reconciler.quotas().summary(), "AWS request budgets");
    let client = match kube::Client::try_default().await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: no Kubernetes configuration (KUBECONFIG or in-cluster): {e}");
            return ExitCode::from(2);
        }
    };
    let holder = args.pod_name.clone().unwrap_or_else(|| {
        std::env::var("HOSTNAME").unwrap_or_else(|_| format!("securequeue-{}", std::process::id()))
    });
    let config = Config {
        namespace: args.namespace,
        label_selector: args.label_selector,
        resync: Duration::from_secs(args.resync_seconds),
        concurrency: args.concurrency,
        http_address: args.http_address,
        leader_election: (!args.no_leader_election).then(|| LeaderElection {
            namespace: args.lease_namespace,
            name: args.lease_name,
            holder,
            duration: Duration::from_secs(args.lease_seconds),
            fence,
        }),
    };
    match controller::run(client, reconciler, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
