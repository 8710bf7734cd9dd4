//! `securequeue bench-watch`: the operator watching many SecureQueues on a real API server, its
//! memory, and how soon after start it reconciles the first one.
//!
//! The SecureQueues are ones the operator's guardrail refuses (they lack the organization id it
//! requires), so the run needs no AWS: each is reconciled once (finalizer added, status written
//! with reason `GuardrailOrganizationRequired`), then watched. The operator runs as a child
//! process (`securequeue run`, JSON logs), so its memory is its own.

use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use futures::stream::{self, StreamExt};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, ListParams, PartialObjectMeta, Patch, PatchParams, PostParams};
use kube::{Api, Client, CustomResourceExt};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::api::SecureQueue;

/// The organization id the child operator requires, which no generated SecureQueue sets.
const REQUIRED_ORGANIZATION: &str = "o-benchwatch0";
/// SecureQueues per namespace.
const PER_NAMESPACE: u32 = 1_000;

#[derive(Args, Debug)]
pub(super) struct BenchWatchArgs {
    /// How many SecureQueues to create and watch.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
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

fn secure_queue(namespace: &str, index: u32) -> SecureQueue {
    let spec = serde_json::from_value(serde_json::json!({
        "consumerRoleArns": ["arn:aws:iam::111122223333:role/bench-consumer"],
    }))
    .expect("the generated spec deserializes");
    let mut queue = SecureQueue::new(&format!("q{index}"), spec);
    queue.metadata.namespace = Some(namespace.to_string());
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
                api.create(&PostParams::default(), &secure_queue(namespace, i))
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

/// What the child operator did, read from its JSON log lines.
#[derive(Default)]
struct Progress {
    /// When it logged "controller started".
    controller_started: Option<Duration>,
    /// When it began its first reconcile.
    first_reconcile: Option<Duration>,
    /// When it finished its first reconcile that wrote a status.
    first_status: Option<Duration>,
    reconciled: u64,
    exited: bool,
}

/// Reads the operator's log lines as they come, so it never blocks writing them, and counts
/// its reconciles.
fn follow(stderr: tokio::process::ChildStderr, started: Instant) -> Arc<Mutex<Progress>> {
    let progress = Arc::new(Mutex::new(Progress::default()));
    let shared = progress.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut progress = shared.lock().expect("progress");
            if line.contains("\"reconciled\"") {
                progress.first_status.get_or_insert(started.elapsed());
                progress.reconciled += 1;
            } else if line.contains("\"reconcile started\"") {
                progress.first_reconcile.get_or_insert(started.elapsed());
            } else if line.contains("\"controller started\"") {
                progress.controller_started.get_or_insert(started.elapsed());
            }
        }
        shared.lock().expect("progress").exited = true;
    });
    progress
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
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let namespaces: Vec<String> = (0..args.secure_queues.div_ceil(PER_NAMESPACE))
        .map(|i| format!("bench-watch-{run}-{i}"))
        .collect();
    let with_namespaces = serves_namespaces(&client).await;
    let created = Instant::now();
    create_all(&client, &namespaces, args.secure_queues, with_namespaces).await?;
    println!(
        "bench-watch: created {} SecureQueues in {} namespaces in {:.1} s",
        args.secure_queues,
        namespaces.len(),
        created.elapsed().as_secs_f64()
    );

    // What the operator's first reconcile must wait for: kube's Controller starts reconciling
    // once its initial list is complete.
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
    drop(listed);

    let exe = std::env::current_exe().map_err(|e| format!("finding this binary: {e}"))?;
    let started = Instant::now();
    let mut child = tokio::process::Command::new(exe)
        .args([
            "--log-format",
            "json",
            "run",
            "--no-leader-election",
            "--http-address",
            "127.0.0.1:0",
            "--required-organization-id",
            REQUIRED_ORGANIZATION,
            "--operator-role-arn",
            "arn:aws:iam::111122223333:role/securequeue-operator",
            "--region",
            "us-east-1",
        ])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env(
            "RUST_LOG",
            "warn,securequeue=info,securequeue::controller::reconcile=debug",
        )
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting the operator: {e}"))?;
    let pid = child.id().ok_or("the operator exited at once")?;
    let progress = follow(child.stderr.take().expect("piped"), started);
    let reconciled = || progress.lock().expect("progress").reconciled;
    let mut peak_during_reconciles = 0;
    let deadline = started + Duration::from_secs(600);
    while reconciled() < u64::from(args.secure_queues) && Instant::now() < deadline {
        if progress.lock().expect("progress").exited {
            return Err("the operator exited".to_string());
        }
        if let Some((_, peak)) = rss_kib(pid) {
            peak_during_reconciles = peak;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all_reconciled = started.elapsed();
    // Watch for a while with nothing to do.
    let settle = Instant::now() + Duration::from_secs(args.settle_seconds);
    let mut samples = Vec::new();
    while Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Some((rss, _)) = rss_kib(pid) {
            samples.push(rss);
        }
    }
    let (rss, peak) = rss_kib(pid).unwrap_or_default();

    let seconds = |at: Option<Duration>| {
        at.map_or("never".to_string(), |d| format!("{:.3} s", d.as_secs_f64()))
    };
    {
        let progress = progress.lock().expect("progress");
        println!(
            "  from the operator's start: controller started {}, first reconcile began {}, first status written {}",
            seconds(progress.controller_started),
            seconds(progress.first_reconcile),
            seconds(progress.first_status)
        );
    }
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
        mib(samples.iter().copied().max().unwrap_or(rss)),
        mib(peak_during_reconciles),
        mib(peak)
    );

    let _ = child.start_kill();
    let _ = child.wait().await;
    if !args.keep {
        clean_up(&client, &namespaces, args.secure_queues, with_namespaces).await;
    }
    if reconciled() < u64::from(args.secure_queues) {
        return Err(format!(
            "only {} of {} SecureQueues were reconciled within 10 minutes",
            reconciled(),
            args.secure_queues
        ));
    }
    Ok(())
}
