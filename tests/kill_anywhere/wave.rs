//! The wave: an operator process converging new SecureQueues, killed and restarted at the
//! moments a seeded [`Schedule`] draws, with one API-server restart and one emulator restart
//! among them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use kube::Client;
use kube::api::{Api, ListParams, PostParams};
use securequeue::api::SecureQueue;

use super::emulator_process::EmulatorProcess;
use crate::common::{ACCOUNT, OPERATOR_ROLE};

/// The region the soak's SecureQueues are in.
const REGION: &str = "us-east-1";
/// CreateKeys a second the emulator allows one account: AWS's default quota.
const CREATE_KEYS_PER_SECOND: f64 = 5.0;

/// One thing done to the system under the wave.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Trouble {
    /// SIGKILL the operator, and start it again at once.
    Kill,
    /// Restart the API server (its etcd keeps everything).
    ApiServer,
    /// Restart the emulator, its state kept.
    Emulator,
}

/// When each trouble comes, from the start of the wave.
pub struct Schedule {
    events: Vec<(Duration, Trouble)>,
}

impl Schedule {
    /// `kills` kills and one restart of each server at random moments, drawn from `seed`,
    /// within the time `queues` new SecureQueues take at one account's CreateKey quota.
    pub fn random(seed: u64, queues: usize, kills: usize) -> Self {
        let mut random = XorShift(seed.max(1));
        let span = queues as f64 / CREATE_KEYS_PER_SECOND + 2.0;
        let mut at = || Duration::from_secs_f64(0.3 + random.unit() * span);
        let mut events: Vec<(Duration, Trouble)> =
            (0..kills).map(|_| (at(), Trouble::Kill)).collect();
        events.push((at(), Trouble::ApiServer));
        events.push((at(), Trouble::Emulator));
        events.sort_by_key(|(at, _)| *at);
        Self { events }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let events: Vec<String> = self
            .events
            .iter()
            .map(|(at, trouble)| format!("{trouble:?}@{:.1}s", at.as_secs_f64()))
            .collect();
        f.write_str(&events.join(" "))
    }
}

/// A small seeded generator: the moments need only be spread, and replayable from the seed.
struct XorShift(u64);

impl XorShift {
    /// A number in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The operator and the SecureQueues it converges.
pub struct Wave {
    api: Api<SecureQueue>,
    namespace: String,
    endpoint: String,
    logs: PathBuf,
    operator: Child,
    starts: usize,
    /// Times the operator exited on its own (it does when it loses its Lease) and was started
    /// again, as the kubelet restarts a pod's container.
    pub exits: usize,
}

impl Wave {
    /// Starts the operator on `namespace`, against the emulator at `endpoint`, and creates
    /// `queues` SecureQueues there.
    pub async fn start(
        client: &Client,
        namespace: &str,
        endpoint: &str,
        logs: &Path,
        queues: usize,
    ) -> Self {
        let operator = operator(namespace, endpoint, logs, 1);
        let api: Api<SecureQueue> = Api::namespaced(client.clone(), namespace);
        stream::iter(0..queues)
            .for_each_concurrent(16, |i| {
                let api = api.clone();
                async move {
                    api.create(&PostParams::default(), &secure_queue(i))
                        .await
                        .expect("the SecureQueue is created");
                }
            })
            .await;
        Self {
            api,
            namespace: namespace.to_string(),
            endpoint: endpoint.to_string(),
            logs: logs.to_path_buf(),
            operator,
            starts: 1,
            exits: 0,
        }
    }

    /// Brings every trouble of `schedule` at its moment. Returns the attempts the emulator
    /// throttled before its restart, which forgets its counts.
    pub async fn run(&mut self, schedule: &Schedule, emulator: &mut EmulatorProcess) -> u64 {
        let started = Instant::now();
        let mut throttled = 0;
        for (at, trouble) in &schedule.events {
            while started.elapsed() < *at {
                self.restart_if_exited();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            match trouble {
                Trouble::Kill => self.kill_and_restart(),
                Trouble::ApiServer => restart_api_server().await,
                Trouble::Emulator => {
                    throttled = throttled_so_far(&self.endpoint);
                    emulator.restart();
                }
            }
        }
        throttled
    }

    fn kill_and_restart(&mut self) {
        // A process that exited on its own is reaped here; killing it again changes nothing.
        let _ = self.operator.kill();
        self.operator.wait().expect("the operator is gone");
        self.start_again();
    }

    fn restart_if_exited(&mut self) {
        if self
            .operator
            .try_wait()
            .expect("the operator's status")
            .is_some()
        {
            self.exits += 1;
            self.start_again();
        }
    }

    fn start_again(&mut self) {
        self.starts += 1;
        self.operator = operator(&self.namespace, &self.endpoint, &self.logs, self.starts);
    }

    /// The SecureQueues once all are Ready, or those that are when `limit` has passed.
    pub async fn all_ready(&mut self, limit: Duration) -> Vec<SecureQueue> {
        let started = Instant::now();
        loop {
            self.restart_if_exited();
            let queues = match self.api.list(&ListParams::default()).await {
                Ok(list) => list.items,
                Err(_) => Vec::new(),
            };
            let ready: Vec<SecureQueue> = queues.iter().filter(|q| is_ready(q)).cloned().collect();
            if (!queues.is_empty() && ready.len() == queues.len()) || started.elapsed() > limit {
                return ready;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

impl Drop for Wave {
    fn drop(&mut self) {
        let _ = self.operator.kill();
        let _ = self.operator.wait();
    }
}

/// The `start`th operator process of the wave, with leader election as in a pod: a restarted
/// container keeps its pod's name, so it takes its own Lease back at once.
fn operator(namespace: &str, endpoint: &str, logs: &Path, start: usize) -> Child {
    let log = std::fs::File::create(logs.join(format!("operator-{start}.log"))).unwrap();
    Command::new(crate::common::cli::BIN)
        .arg("run")
        .args(["--namespace", namespace, "--lease-namespace", namespace])
        .args(["--pod-name", "soak-operator", "--cluster-id", "soak"])
        .args(["--aws-quota-share", "1"])
        .args([
            "--http-address",
            &format!("127.0.0.1:{}", crate::common::free_port()),
        ])
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", REGION)
        .env("SECUREQUEUE_OPERATOR_ROLE_ARN", OPERATOR_ROLE)
        .env("RUST_LOG", "warn,securequeue=info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("the operator starts")
}

fn secure_queue(i: usize) -> SecureQueue {
    serde_saphyr::from_str(&format!(
        "apiVersion: securequeue.io/v1alpha1\nkind: SecureQueue\nmetadata:\n  name: q{i}\nspec:\n  region: {REGION}\n  consumerRoleArns: [\"arn:aws:iam::{ACCOUNT}:role/consumer\"]\n"
    ))
    .unwrap()
}

/// Whether the SecureQueue's Ready condition holds for its current generation.
pub fn is_ready(queue: &SecureQueue) -> bool {
    let generation = queue.metadata.generation;
    queue.status.as_ref().is_some_and(|status| {
        status.conditions.iter().any(|c| {
            c.type_ == "Ready" && c.status == "True" && c.observed_generation == generation
        })
    })
}

/// Restarts the API server `tests/kube/cluster.sh` started; with a cluster KUBECONFIG names
/// instead, there is none to restart, and the soak says so.
async fn restart_api_server() {
    let Ok(script) = std::env::var("SECUREQUEUE_TEST_APISERVER_RESTART") else {
        println!("soak: the cluster is not the test API server: its restart is left out");
        return;
    };
    let status = tokio::task::spawn_blocking(move || Command::new(script).status())
        .await
        .unwrap()
        .expect("the restart script runs");
    assert!(status.success(), "the API server restarted");
}

/// Attempts the emulator at `endpoint` throttled since it started.
pub fn throttled_so_far(endpoint: &str) -> u64 {
    crate::emulator::quota_counts_at(endpoint, REGION)
        .values()
        .map(|(_, throttled)| throttled)
        .sum()
}
