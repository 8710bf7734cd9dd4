//! The cluster the suite runs on, as `tests/node/e2e.sh` names it, and the two commands a user
//! drives it with: kubectl and helm.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::common::cli;

/// What the driver names, from `SECUREQUEUE_NODE_*` and the emulator's variables.
pub struct Cluster {
    /// Its admin kubeconfig.
    pub kubeconfig: String,
    /// The kubectl to run.
    pub kubectl: String,
    /// The operator image, as repository:tag.
    pub image: String,
    /// The emulator, at the address the pods reach it on.
    pub emulator: String,
    /// The node's host side, where this machine is the node.
    pub host: Option<NodeHost>,
    /// A client with the admin kubeconfig.
    pub client: Client,
}

/// The node's host side: where the operator's processes and their projected tokens are.
pub struct NodeHost {
    /// The node's containerd, for `ctr -n k8s.io -a SOCKET`.
    pub containerd_socket: String,
    /// kubelet's root directory, where the pods' volumes are.
    pub kubelet_root: PathBuf,
}

/// The variable that turns the suite on.
pub const GATE: &str = "SECUREQUEUE_NODE_KUBECONFIG";

fn required(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{GATE} is set, so {name} must be too: run tests/node/e2e.sh"))
}

impl Cluster {
    /// The cluster the driver started or was given; `None` when the suite is not to run.
    pub async fn from_env() -> Option<Self> {
        let kubeconfig = std::env::var(GATE).ok().filter(|v| !v.is_empty())?;
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let config = kube::Config::from_custom_kubeconfig(
            Kubeconfig::read_from(&kubeconfig).expect("the kubeconfig reads"),
            &KubeConfigOptions::default(),
        )
        .await
        .expect("the kubeconfig is complete");
        let host = std::env::var("SECUREQUEUE_NODE_CONTAINERD_SOCKET")
            .ok()
            .map(|socket| NodeHost {
                containerd_socket: socket,
                kubelet_root: required("SECUREQUEUE_NODE_KUBELET_ROOT").into(),
            });
        Some(Self {
            kubectl: required("SECUREQUEUE_NODE_KUBECTL"),
            image: required("SECUREQUEUE_NODE_IMAGE"),
            emulator: required("SECUREQUEUE_TEST_AWS_ENDPOINT"),
            client: Client::try_from(config).expect("a client"),
            kubeconfig,
            host,
        })
    }

    /// `kubectl args` with `stdin`: its output, or what it printed when it failed.
    pub async fn try_kubectl(&self, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
        let mut command = Command::new(&self.kubectl);
        command.arg("--kubeconfig").arg(&self.kubeconfig).args(args);
        run(command, stdin).await
    }

    /// [`Cluster::try_kubectl`], which must succeed.
    pub async fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> String {
        self.try_kubectl(args, stdin)
            .await
            .unwrap_or_else(|e| panic!("kubectl {}: {e}", args.join(" ")))
    }

    /// `helm args` against this cluster, from the repository's root; it must succeed.
    pub async fn helm(&self, args: &[&str]) -> String {
        let mut command = Command::new(
            std::env::var("SECUREQUEUE_HELM")
                .expect("SECUREQUEUE_HELM names helm: run tests/node/e2e.sh"),
        );
        command
            .current_dir(crate::common::ROOT)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args);
        run(command, None)
            .await
            .unwrap_or_else(|e| panic!("helm {}: {e}", args.join(" ")))
    }
}

/// Runs `command` off the runtime's workers (the Lease is watched meanwhile), with `stdin`.
async fn run(mut command: Command, stdin: Option<&str>) -> Result<String, String> {
    let stdin = stdin.map(str::to_string);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    tokio::task::spawn_blocking(move || {
        let out = cli::output(&mut command, stdin.as_deref());
        if out.status.success() {
            Ok(cli::text(&out.stdout))
        } else {
            Err(format!(
                "{}{}",
                cli::text(&out.stdout),
                cli::text(&out.stderr)
            ))
        }
    })
    .await
    .expect("the command's thread")
}
