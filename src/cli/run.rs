//! `securequeue run`: the Kubernetes controller.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::controller::{self, Config, LeaderElection};
use crate::guardrails::{self, Guardrails};

use super::operator::OperatorArgs;

#[derive(Args, Debug)]
pub(super) struct RunArgs {
    #[command(flatten)]
    operator: OperatorArgs,

    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "SECUREQUEUE_NAMESPACE")]
    namespace: Option<String>,

    /// Watch only SecureQueues matching this label selector, e.g. `team=payments`.
    #[arg(long, env = "SECUREQUEUE_LABEL_SELECTOR")]
    label_selector: Option<String>,

    /// Seconds between drift checks of a Ready SecureQueue.
    #[arg(long, env = "SECUREQUEUE_RESYNC_SECONDS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(10..=86_400))]
    resync_seconds: u64,

    /// SecureQueues reconciled at once. A pass waiting for its turn at an AWS request budget
    /// costs little, and enough passes in flight keep every budget busy during an onboarding
    /// wave.
    #[arg(long, env = "SECUREQUEUE_CONCURRENCY", default_value_t = 32,
          value_parser = clap::value_parser!(u16).range(1..=256))]
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

    /// Seconds a Lease holds without renewal; it is renewed three times as often.
    #[arg(long, env = "SECUREQUEUE_LEASE_SECONDS", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(3..=300))]
    lease_seconds: u64,

    /// Guardrail: accounts (comma-separated) whose principals and sources SecureQueues may
    /// name besides the operator's own.
    #[arg(long, env = "SECUREQUEUE_ALLOWED_ACCOUNT_IDS", value_delimiter = ',')]
    allowed_account_ids: Vec<String>,

    /// Guardrail: the organizationId every SecureQueue must set.
    #[arg(long, env = "SECUREQUEUE_REQUIRED_ORGANIZATION_ID")]
    required_organization_id: Option<String>,

    /// Guardrail: roles (comma-separated) added to every key's and queue's administrators.
    #[arg(long, env = "SECUREQUEUE_ADMIN_ROLE_ARNS", value_delimiter = ',')]
    admin_role_arns: Vec<String>,

    /// Guardrail: a prefix every queue name must start with; default names get it.
    #[arg(long, env = "SECUREQUEUE_QUEUE_NAME_PREFIX")]
    queue_name_prefix: Option<String>,

    /// Guardrail: a prefix every key alias must start with (`alias/...`); default aliases
    /// outside it get it. Give `securequeue iam-policy` the same prefix.
    #[arg(long, env = "SECUREQUEUE_KEY_ALIAS_PREFIX", value_parser = guardrails::key_alias_prefix)]
    key_alias_prefix: Option<String>,
}

pub(super) async fn run(args: RunArgs) -> ExitCode {
    let reconciler = match args.operator.reconciler(None).await {
        Ok(reconciler) => reconciler,
        Err(errors) => {
            for error in errors {
                eprintln!("error: {error}");
            }
            return ExitCode::from(2);
        }
    };
    let reconciler = reconciler.with_guardrails(Guardrails {
        allowed_account_ids: args.allowed_account_ids,
        required_organization_id: args.required_organization_id,
        admin_role_arns: args.admin_role_arns,
        queue_name_prefix: args.queue_name_prefix,
        key_alias_prefix: args.key_alias_prefix,
    });
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
