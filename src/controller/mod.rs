//! The Kubernetes controller behind `securequeue run`: watches SecureQueues, runs the reconciler
//! on each with a finalizer, writes status and Events, exports metrics, and takes part in
//! leader election so several replicas are safe.

pub mod accounts;
mod first_listing;
pub mod http;
pub mod leader;
pub mod ledger;
pub mod metrics;
pub mod namespaces;
pub mod reconcile;
pub mod spread;
mod status_apply;
pub mod watching;

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{Stream, StreamExt};
use kube::api::PartialObjectMeta;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::Store;
use kube::runtime::{Controller, WatchStreamExt, controller, reflector, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::api::SecureQueue;
use crate::fence::WriteFence;
use crate::reconcile::Reconciler;

pub use leader::LeaderElection;
use metrics::Metrics;

/// What the controller watches of a SecureQueue: its metadata.
type QueueMeta = PartialObjectMeta<SecureQueue>;

/// How the controller runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Watch only this namespace; all namespaces when `None`.
    pub namespace: Option<String>,
    /// Watch only SecureQueues with these labels (`key=value,...`).
    pub label_selector: Option<String>,
    /// How often a Ready SecureQueue is checked again for drift.
    pub resync: Duration,
    /// How many SecureQueues are reconciled at once.
    pub concurrency: u16,
    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    pub http_address: SocketAddr,
    /// Leader election, when more than one replica may run.
    pub leader_election: Option<LeaderElection>,
}

/// The controller's name in its Events.
const REPORTER: &str = "securequeue";

/// What every reconcile shares.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// The AWS reconciler.
    pub reconciler: Reconciler,
    /// Publishes Events that repeat (drift corrections, messages arriving in the dead-letter
    /// queue), folding repeats into a series. It remembers every Event it published for a few
    /// minutes, so one-off Events go through [`Context::one_off_recorder`] instead.
    pub recorder: Recorder,
    /// The metrics.
    pub metrics: Metrics,
    /// The drift resync interval.
    pub resync: Duration,
    /// What every write passes: shut once this replica no longer leads.
    pub fence: WriteFence,
    /// Where in the resync window each SecureQueue's resync falls.
    spread: spread::Spread,
    started: tokio::time::Instant,
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    /// A context for reconciles.
    pub fn new(client: Client, reconciler: Reconciler, metrics: Metrics, resync: Duration) -> Self {
        let recorder = Recorder::new(client.clone(), Reporter::from(REPORTER));
        Self {
            client,
            reconciler,
            recorder,
            metrics,
            resync,
            fence: WriteFence::open(),
            spread: spread::Spread::new(resync),
            started: tokio::time::Instant::now(),
            failures: Mutex::default(),
        }
    }

    /// The same context, writing only while `fence` is open.
    pub fn fenced_by(self, fence: WriteFence) -> Self {
        Self { fence, ..self }
    }

    /// The next retry delay for a SecureQueue that failed again.
    pub fn backoff(&self, queue: &impl Resource) -> Duration {
        let uid = queue.uid().unwrap_or_default();
        let mut failures = self.failures.lock().expect("failure counts");
        let count = failures.entry(uid.clone()).or_default();
        *count += 1;
        let seed = {
            let mut hasher = DefaultHasher::new();
            (uid, *count, std::time::SystemTime::now()).hash(&mut hasher);
            hasher.finish()
        };
        reconcile::backoff(*count - 1, seed)
    }

    /// How long until a SecureQueue's next resync: at its place in the resync window.
    pub fn resync_delay(&self, queue: &impl Resource) -> Duration {
        let uid = queue.uid().unwrap_or_default();
        let seed = {
            let mut hasher = DefaultHasher::new();
            (&uid, std::time::SystemTime::now()).hash(&mut hasher);
            hasher.finish()
        };
        self.spread.delay(&uid, self.started.elapsed(), seed)
    }

    /// Forgets a SecureQueue that is gone: its place in the resync window goes to a newcomer,
    /// and its failure count is dropped.
    pub fn forget(&self, queue: &impl Resource) {
        self.spread.release(&queue.uid().unwrap_or_default());
        self.succeeded(queue);
    }

    /// How many SecureQueues have a failure count: those failing now, which a fleet's churn
    /// must not grow.
    pub fn failing(&self) -> usize {
        self.failures.lock().expect("failure counts").len()
    }

    /// A recorder for an Event that does not repeat (a creation, a deletion, a status change):
    /// it keeps no memory of the Event, so a fleet of SecureQueues created or refused at once
    /// does not leave thousands of Events in the operator's memory.
    pub fn one_off_recorder(&self) -> Recorder {
        Recorder::new(self.client.clone(), Reporter::from(REPORTER))
    }

    /// Forgets a SecureQueue's failures.
    pub fn succeeded(&self, queue: &impl Resource) {
        self.failures
            .lock()
            .expect("failure counts")
            .remove(&queue.uid().unwrap_or_default());
    }
}

/// Why the controller stopped other than by a signal.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The Kubernetes API server could not be reached at start.
    #[error("cannot reach the Kubernetes API server: {0}")]
    Unreachable(#[source] kube::Error),
    /// Another replica took the Lease; this one stops so it never acts beside the new leader.
    #[error("lost the leader Lease to {0}")]
    LeadershipLost(String),
}

/// Runs the controller until SIGTERM/SIGINT, or until leadership is lost.
pub async fn run(client: Client, reconciler: Reconciler, config: Config) -> Result<(), RunError> {
    // Catch SIGTERM from the very start, so a stop that comes early is never lost.
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("the SIGTERM handler installs");
    let fence = config
        .leader_election
        .as_ref()
        .map_or_else(WriteFence::open, |election| election.fence.clone());
    let metrics = Metrics::default().fenced_by(fence.clone());
    let server = serve(&client, &config, &metrics).await?;
    let (stop_tx, stop_rx) = watch::channel(None::<Stop>);
    let shutdown = tokio::spawn(stop_on_signal(terminate, stop_tx.clone()));
    let lock = match &config.leader_election {
        Some(election) => match election.lead(client.clone(), stop_tx.clone()).await {
            Some(lock) => Some(lock),
            None => {
                server.abort();
                return Ok(());
            }
        },
        None => None,
    };

    let (reader, changes) = watch_queues(&client, &config).await;
    let bindings_changed = accounts::follow(
        client.clone(),
        reconciler.clone(),
        config.namespace.clone(),
        reader.clone(),
    )
    .await;
    let ctx = Arc::new(Context::new(client, reconciler, metrics, config.resync).fenced_by(fence));
    info!(namespace = ?config.namespace, "controller started");
    let mut controller = Controller::for_stream(changes, reader)
        .with_config(controller::Config::default().concurrency(config.concurrency));
    if let Some(changed) = bindings_changed {
        controller = controller.reconcile_on(changed);
    }
    reconcile_until_stopped(controller, ctx, stop_rx.clone()).await;
    shutdown.abort();
    server.abort();
    if let Some(lock) = &lock {
        lock.step_down().await;
    }
    let why = stop_rx.borrow().clone().unwrap_or(Stop::Signal);
    info!(reason = ?why, "controller stopped after in-flight reconciles finished");
    match why {
        Stop::LeadershipLost(holder) => Err(RunError::LeadershipLost(holder)),
        Stop::Signal => Ok(()),
    }
}

/// Serves `/metrics`, `/healthz` and `/readyz` at the configured address, ready once the API
/// server answers.
async fn serve(
    client: &Client,
    config: &Config,
    metrics: &Metrics,
) -> Result<JoinHandle<std::io::Result<()>>, RunError> {
    let ready = Arc::new(AtomicBool::new(false));
    let server = tokio::spawn(http::serve(
        config.http_address,
        metrics.clone(),
        ready.clone(),
    ));
    client
        .apiserver_version()
        .await
        .map_err(RunError::Unreachable)?;
    ready.store(true, Ordering::Relaxed);
    Ok(server)
}

/// Sends [`Stop::Signal`] when SIGTERM or SIGINT comes.
async fn stop_on_signal(terminate: tokio::signal::unix::Signal, stop: watch::Sender<Option<Stop>>) {
    wait_for_signal(terminate).await;
    let _ = stop.send(Some(Stop::Signal));
}

/// The SecureQueues the controller watches: the store of their metadata, and the stream of
/// their changes, the first listing handed on as it arrives.
async fn watch_queues(
    client: &Client,
    config: &Config,
) -> (
    Store<QueueMeta>,
    impl Stream<Item = Result<QueueMeta, watcher::Error>> + Send + 'static,
) {
    let api: Api<QueueMeta> = match &config.namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    };
    let streaming = watching::supports_streaming_lists(&api).await;
    info!(streaming_lists = streaming, "watching SecureQueues");
    let (reader, writer) = reflector::store();
    let events = watcher(
        api,
        watching::config(config.label_selector.as_deref(), streaming),
    )
    .default_backoff()
    .modify(watching::trim);
    let changes = first_listing::early(events)
        .reflect(writer)
        .applied_objects()
        .predicate_filter(watching::change_marker, Default::default());
    (reader, changes)
}

/// Runs `controller` until a stop is sent; the reconciles in flight finish first.
async fn reconcile_until_stopped(
    controller: Controller<QueueMeta>,
    ctx: Arc<Context>,
    mut stopped: watch::Receiver<Option<Stop>>,
) {
    controller
        .graceful_shutdown_on(async move {
            let _ = stopped.wait_for(Option::is_some).await;
        })
        .run(reconcile::reconcile_latest, reconcile::error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                warn!(error = %e, "reconcile error");
            }
        })
        .await;
}

/// Why the controller stops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM or SIGINT.
    Signal,
    /// Another replica holds the Lease now (the text names it), or it could not be renewed in
    /// time.
    LeadershipLost(String),
}

async fn wait_for_signal(mut terminate: tokio::signal::unix::Signal) {
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
