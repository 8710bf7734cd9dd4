//! `securequeue bench-watch`: the operator watching many SecureQueues on a real API server, its
//! memory, and how soon after start it reconciles the first one.
//!
//! The SecureQueues are ones the operator's guardrail refuses (they lack the organization id it
//! requires), so the run needs no AWS: each is reconciled once (finalizer added, status written
//! with reason `GuardrailOrganization`), then watched. The operator runs as a child
//! process (`securequeue run`), so its memory is its own. Its progress is read where a user
//! would read it, not from its logs: its `/readyz` endpoint, and the SecureQueues' finalizers
//! and `Ready` conditions as the API server serves them.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use futures::stream::{self, StreamExt};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, ListParams, PartialObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Api, Client, CustomResourceExt, ResourceExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::api::SecureQueue;
use crate::api::conditions::{self, Reason};

/// The organization id the child operator requires, which no generated SecureQueue sets.
const REQUIRED_ORGANIZATION: &str = "o-benchwatch0";
/// SecureQueues per namespace.
const PER_NAMESPACE: u32 = 1_000;
/// The label on the bench's SecureQueues, whose value names the run.
const RUN_LABEL: &str = "securequeue.io/bench-watch";
/// The operator's last log lines kept, to say why it exited.
const LOG_TAIL: usize = 20;

#[derive(Args, Debug)]
pub(super) struct BenchWatchArgs {
    /// How many SecureQueues to create and watch.
    #[arg(long, default_value_t = 10_000, value_parser = super::numbers::between::<u32>(1, 100_000))]
    secure_queues: u32,

    /// How long to keep watching once every SecureQueue was reconciled, in seconds.
    #[arg(long, default_value_t = 15)]
    settle_seconds: u64,

    /// Leave the namespaces and SecureQueues in place.
    #[arg(long)]
    keep: bool,
}

/// The child operator's memory, from /proc (Linux), in KiB: (current, peak).
fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn install_crd(client: &Client) -> Result<(), kube::Error> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    match crds
        .create(&PostParams::default(), &SecureQueue::crd())
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(e) => return Err(e),
    }
    // The API serves the kind once the CRD is established.
    let queues: Api<SecureQueue> = Api::all(client.clone());
    for _ in 0..100 {
        if queues.list(&Default::default()).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    queues.list(&Default::default()).await.map(|_| ())
}

fn secure_queue(namespace: &str, index: u32, run: &str) -> SecureQueue {
    let spec = serde_json::from_value(serde_json::json!({
        "consumerRoleArns": ["arn:aws:iam::111122223333:role/bench-consumer"],
    }))
    .expect("the generated spec deserializes");
    let mut queue = SecureQueue::new(&format!("q{index}"), spec);
    queue.metadata.namespace = Some(namespace.to_string());
    queue.metadata.labels = Some(BTreeMap::from([(RUN_LABEL.to_string(), run.to_string())]));
    queue
}

/// Whether the API server serves namespaces. A server of custom resources alone (the v1.36 test
/// server) has none, and takes custom resources in any namespace name.
async fn serves_namespaces(client: &Client) -> bool {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .list(&ListParams::default().limit(1))
        .await
        .is_ok()
}

/// Deletes the bench's namespaces, or its SecureQueues where there are no namespaces. The
/// operator is stopped by then, so the finalizers it added are removed here (the SecureQueues
/// have `deletionPolicy: Retain` and nothing in AWS).
async fn clean_up(client: &Client, namespaces: &[String], count: u32, with_namespaces: bool) {
    let patch = serde_json::json!({"metadata": {"finalizers": null}});
    stream::iter(0..count)
        .map(|i| {
            let namespace = &namespaces[(i / PER_NAMESPACE) as usize];
            let api: Api<SecureQueue> = Api::namespaced(client.clone(), namespace);
            let patch = &patch;
            async move {
                let name = format!("q{i}");
                let _ = api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                    .await;
                if !with_namespaces {
                    let _ = api.delete(&name, &DeleteParams::default()).await;
                }
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    if !with_namespaces {
        println!("  cleanup: deleted the {count} SecureQueues");
        return;
    }
    let nss: Api<Namespace> = Api::all(client.clone());
    let mut deleted = 0;
    for name in namespaces {
        if nss.delete(name, &DeleteParams::default()).await.is_ok() {
            deleted += 1;
        }
    }
    println!(
        "  cleanup: deletion of {deleted} of {} namespaces requested",
        namespaces.len()
    );
}

async fn create_all(
    client: &Client,
    namespaces: &[String],
    count: u32,
    with_namespaces: bool,
    run: &str,
) -> Result<(), String> {
    let nss: Api<Namespace> = Api::all(client.clone());
    for name in namespaces.iter().filter(|_| with_namespaces) {
        let mut namespace = Namespace::default();
        namespace.metadata.name = Some(name.clone());
        nss.create(&PostParams::default(), &namespace)
            .await
            .map_err(|e| format!("creating namespace {name}: {e}"))?;
    }
    let failures: Vec<String> = stream::iter(0..count)
        .map(|i| {
            let namespace = &namespaces[(i / PER_NAMESPACE) as usize];
            let api: Api<SecureQueue> = Api::namespaced(client.clone(), namespace);
            async move {
                api.create(&PostParams::default(), &secure_queue(namespace, i, run))
                    .await
                    .err()
                    .map(|e| format!("{namespace}/q{i}: {e}"))
            }
        })
        .buffer_unordered(32)
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    match failures.first() {
        None => Ok(()),
        Some(first) => Err(format!(
            "{} SecureQueues could not be created, e.g. {first}",
            failures.len()
        )),
    }
}

/// What the child operator did, as the API server and its own endpoint show it.
#[derive(Default)]
struct Progress {
    /// When its `/readyz` first answered 200: it had reached the API server.
    ready: Option<Instant>,
    /// When a SecureQueue first carried a finalizer, the first write of a reconcile.
    first_reconcile: Option<Instant>,
    /// When a SecureQueue first carried the status the guardrail's refusal writes.
    first_status: Option<Instant>,
    /// The SecureQueues (`namespace/name`) with that status.
    reconciled: HashSet<String>,
}

impl Progress {
    /// Takes in one SecureQueue as the API server now serves it.
    fn observe(&mut self, queue: &SecureQueue, at: Instant) {
        if !queue.finalizers().is_empty() {
            self.first_reconcile.get_or_insert(at);
        }
        let refused = queue.status.as_ref().is_some_and(|status| {
            status.conditions.iter().any(|c| {
                c.type_ == conditions::READY && c.reason == Reason::GuardrailOrganization.as_str()
            })
        });
        if refused {
            self.first_status.get_or_insert(at);
            let name = format!(
                "{}/{}",
                queue.namespace().unwrap_or_default(),
                queue.name_any()
            );
            self.reconciled.insert(name);
        }
    }
}

/// Watches the run's SecureQueues and records what the operator did to them. Returns once the
/// initial list is in, so that the operator's own list does not meet this one.
async fn follow_secure_queues(
    client: &Client,
    run: &str,
    progress: Arc<Mutex<Progress>>,
) -> Result<(), String> {
    let api: Api<SecureQueue> = Api::all(client.clone());
    let config = watcher::Config::default().labels(&format!("{RUN_LABEL}={run}"));
    let mut events = watcher(api, config).boxed();
    loop {
        match events.next().await {
            Some(Ok(watcher::Event::InitDone)) => break,
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("watching the SecureQueues: {e}")),
            None => return Err("the watch of the SecureQueues ended".to_string()),
        }
    }
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            let (Ok(watcher::Event::Apply(queue)) | Ok(watcher::Event::InitApply(queue))) = event
            else {
                continue;
            };
            progress
                .lock()
                .expect("progress")
                .observe(&queue, Instant::now());
        }
    });
    Ok(())
}

/// Asks the operator's `/readyz` until it answers 200, and records when.
fn follow_readiness(port: u16, progress: Arc<Mutex<Progress>>) {
    tokio::spawn(async move {
        loop {
            if ready(port).await {
                progress
                    .lock()
                    .expect("progress")
                    .ready
                    .get_or_insert(Instant::now());
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
}

async fn ready(port: u16) -> bool {
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let request = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    response.starts_with(b"HTTP/1.1 200")
}

/// Reads the operator's log lines as they come, so it never blocks writing them, and keeps the
/// last few to say why it exited.
fn keep_log_tail(stderr: tokio::process::ChildStderr) -> Arc<Mutex<VecDeque<String>>> {
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let shared = tail.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut tail = shared.lock().expect("log tail");
            if tail.len() == LOG_TAIL {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    });
    tail
}

/// A loopback port free at the moment, for the operator's endpoints.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

pub(super) async fn run(args: BenchWatchArgs) -> ExitCode {
    match measure(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn measure(args: &BenchWatchArgs) -> Result<(), String> {
    let client = Client::try_default()
        .await
        .map_err(|e| format!("no Kubernetes cluster (KUBECONFIG): {e}"))?;
    install_crd(&client)
        .await
        .map_err(|e| format!("installing the CRD: {e}"))?;
    let fleet = Fleet::create(&client, args.secure_queues).await?;
    time_metadata_listing(&client).await?;
    let progress = Arc::new(Mutex::new(Progress::default()));
    follow_secure_queues(&client, &fleet.run, progress.clone()).await?;
    let port = free_port()?;
    let started = Instant::now();
    let mut operator = Operator::start(port)?;
    follow_readiness(port, progress.clone());
    let reconciled = || progress.lock().expect("progress").reconciled.len() as u64;
    let all = u64::from(args.secure_queues);
    let peak_during_reconciles = operator
        .watch_until(|| reconciled() >= all, started + Duration::from_secs(600))
        .await?;
    let all_reconciled = started.elapsed();
    // Watch for a while with nothing to do.
    let settle = Duration::from_secs(args.settle_seconds);
    let watching = operator.rss_samples(settle).await;
    let (rss, peak) = operator.rss().unwrap_or_default();
    print_times(&progress.lock().expect("progress"), started);
    println!(
        "  reconciled {} of {} SecureQueues in {:.1} s",
        reconciled(),
        args.secure_queues,
        all_reconciled.as_secs_f64()
    );
    println!(
        "  operator RSS while watching: {:.1} MiB (max over {} s: {:.1} MiB); peak while reconciling: {:.1} MiB; peak overall: {:.1} MiB",
        mib(rss),
        args.settle_seconds,
        mib(watching.iter().copied().max().unwrap_or(rss)),
        mib(peak_during_reconciles),
        mib(peak)
    );
    operator.stop().await;
    if !args.keep {
        fleet.clean_up(&client).await;
    }
    if reconciled() < all {
        return Err(format!(
            "only {} of {} SecureQueues were reconciled within 10 minutes",
            reconciled(),
            args.secure_queues
        ));
    }
    Ok(())
}

/// The run's SecureQueues, in namespaces of [`PER_NAMESPACE`] each.
struct Fleet {
    /// Names the run: in the namespaces' names and the SecureQueues' [`RUN_LABEL`].
    run: String,
    namespaces: Vec<String>,
    /// Whether the API server serves namespaces ([`serves_namespaces`]).
    with_namespaces: bool,
    count: u32,
}

impl Fleet {
    /// Creates `count` SecureQueues, and their namespaces where the API server has them.
    async fn create(client: &Client, count: u32) -> Result<Self, String> {
        let run = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let fleet = Self {
            namespaces: (0..count.div_ceil(PER_NAMESPACE))
                .map(|i| format!("bench-watch-{run}-{i}"))
                .collect(),
            run: run.to_string(),
            with_namespaces: serves_namespaces(client).await,
            count,
        };
        let created = Instant::now();
        create_all(
            client,
            &fleet.namespaces,
            count,
            fleet.with_namespaces,
            &fleet.run,
        )
        .await?;
        println!(
            "bench-watch: created {count} SecureQueues in {} namespaces in {:.1} s",
            fleet.namespaces.len(),
            created.elapsed().as_secs_f64()
        );
        Ok(fleet)
    }

    /// Deletes what [`Fleet::create`] made.
    async fn clean_up(&self, client: &Client) {
        clean_up(client, &self.namespaces, self.count, self.with_namespaces).await;
    }
}

/// Times the list the operator's first reconcile must wait for: kube's Controller starts
/// reconciling once its initial list is complete.
async fn time_metadata_listing(client: &Client) -> Result<(), String> {
    let metadata: Api<PartialObjectMeta<SecureQueue>> = Api::all(client.clone());
    let listing = Instant::now();
    let listed = metadata
        .list(&ListParams::default().match_any())
        .await
        .map_err(|e| format!("listing SecureQueues: {e}"))?;
    println!(
        "  the API server lists {} SecureQueues' metadata (from its watch cache) in {:.3} s",
        listed.items.len(),
        listing.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The operator under measure, a child process of this one, so that its memory is its own.
struct Operator {
    child: tokio::process::Child,
    pid: u32,
    /// Its last log lines, to say why it exited.
    log_tail: Arc<Mutex<VecDeque<String>>>,
}

impl Operator {
    /// Starts `securequeue run` with its endpoints on `port`, requiring the organization id no
    /// bench SecureQueue sets.
    fn start(port: u16) -> Result<Self, String> {
        let http_address = format!("127.0.0.1:{port}");
        let exe = std::env::current_exe().map_err(|e| format!("finding this binary: {e}"))?;
        let mut child = tokio::process::Command::new(exe)
            .args([
                "--log-format",
                "json",
                "run",
                "--no-leader-election",
                "--http-address",
                &http_address,
                "--required-organization-id",
                REQUIRED_ORGANIZATION,
                "--operator-role-arn",
                "arn:aws:iam::111122223333:role/securequeue-operator",
                "--region",
                "us-east-1",
            ])
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "warn")
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting the operator: {e}"))?;
        let pid = child.id().ok_or("the operator exited at once")?;
        let log_tail = keep_log_tail(child.stderr.take().expect("piped"));
        Ok(Self {
            child,
            pid,
            log_tail,
        })
    }

    /// Watches the operator until `done` or `deadline`: its peak memory meanwhile, in KiB, or
    /// its last log lines if it exited.
    async fn watch_until(
        &mut self,
        done: impl Fn() -> bool,
        deadline: Instant,
    ) -> Result<u64, String> {
        let mut peak = 0;
        while !done() && Instant::now() < deadline {
            if let Ok(Some(exit)) = self.child.try_wait() {
                let tail = self.log_tail.lock().expect("log tail");
                let tail: Vec<&str> = tail.iter().map(String::as_str).collect();
                return Err(format!(
                    "the operator exited ({exit}); its last log lines:\n{}",
                    tail.join("\n")
                ));
            }
            if let Some((_, now)) = self.rss() {
                peak = now;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(peak)
    }

    /// The operator's memory every half second for `period`, in KiB.
    async fn rss_samples(&self, period: Duration) -> Vec<u64> {
        let end = Instant::now() + period;
        let mut samples = Vec::new();
        while Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if let Some((rss, _)) = self.rss() {
                samples.push(rss);
            }
        }
        samples
    }

    /// The operator's memory, in KiB: (current, peak).
    fn rss(&self) -> Option<(u64, u64)> {
        rss_kib(self.pid)
    }

    /// Stops the operator.
    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// When the operator was ready, first reconciled and first wrote a status, from its start.
fn print_times(progress: &Progress, started: Instant) {
    let seconds = |at: Option<Instant>| {
        at.map_or("never".to_string(), |at| {
            format!(
                "{:.3} s",
                at.saturating_duration_since(started).as_secs_f64()
            )
        })
    };
    println!(
        "  from the operator's start: ready (/readyz) {}, first finalizer added {}, first status written {}",
        seconds(progress.ready),
        seconds(progress.first_reconcile),
        seconds(progress.first_status)
    );
}
