//! The leader Lease as the suite sees it: every version the API server sends on a watch,
//! recorded with the moment it arrived, so that a handover is timed to the write that made it
//! and a roll's longest stretch without a renewal can be read off afterwards.

use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Client;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One version of the Lease.
#[derive(Clone, Debug)]
pub struct Sample {
    /// When the suite received it.
    pub seen: Instant,
    /// Its holder; empty when released.
    pub holder: String,
    /// When its holder last took or renewed it, by the holder's clock.
    pub renewed: Option<jiff::Timestamp>,
    /// How long it holds without renewal.
    pub duration: Duration,
}

/// The Lease's versions so far, kept by a watch in the background.
pub struct LeaseWatch {
    samples: watch::Receiver<Vec<Sample>>,
    task: JoinHandle<()>,
    /// The Lease, to read it afresh when a wait fails.
    api: Api<Lease>,
    name: String,
}

impl Drop for LeaseWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LeaseWatch {
    /// Starts watching the Lease `name` of `namespace`, which need not exist yet.
    pub fn start(client: &Client, namespace: &str, name: &str) -> Self {
        let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let (sender, samples) = watch::channel(Vec::new());
        let watched = api.clone();
        let task = tokio::spawn(async move {
            let mut leases = watcher(watched, config)
                .default_backoff()
                .applied_objects()
                .boxed();
            while let Some(lease) = leases.next().await {
                let Ok(lease) = lease else { continue };
                let spec = lease.spec.unwrap_or_default();
                let sample = Sample {
                    seen: Instant::now(),
                    holder: spec.holder_identity.unwrap_or_default(),
                    renewed: spec.renew_time.map(|t| t.0),
                    duration: Duration::from_secs(
                        spec.lease_duration_seconds.unwrap_or_default().max(0) as u64,
                    ),
                };
                sender.send_modify(|samples| samples.push(sample));
            }
        });
        Self {
            samples,
            task,
            api,
            name: name.to_string(),
        }
    }

    /// How many versions have come so far: a mark for [`LeaseWatch::first_after`].
    pub fn mark(&self) -> usize {
        self.samples.borrow().len()
    }

    /// The latest version.
    pub fn latest(&self) -> Option<Sample> {
        self.samples.borrow().last().cloned()
    }

    /// Every version since `mark`, and the one before it.
    pub fn since(&self, mark: usize) -> Vec<Sample> {
        self.samples.borrow()[mark.saturating_sub(1)..].to_vec()
    }

    /// The first version after `mark` that `wanted` accepts, waiting up to `within` for it;
    /// otherwise what the watch saw and what the Lease says now, naming `what`.
    pub async fn first_after(
        &self,
        mark: usize,
        within: Duration,
        what: &str,
        wanted: impl Fn(&Sample) -> bool,
    ) -> Result<Sample, String> {
        let mut samples = self.samples.clone();
        let found = tokio::time::timeout(
            within,
            samples.wait_for(|all| all.iter().skip(mark).any(&wanted)),
        )
        .await;
        if let Ok(Ok(_)) = found {
            let all = self.samples.borrow();
            return Ok(all.iter().skip(mark).find(|s| wanted(s)).unwrap().clone());
        }
        let now = self.api.get_opt(&self.name).await;
        let seen = self.samples.borrow()[mark..].to_vec();
        Err(format!(
            "no Lease with {what} within {within:?}; since then the watch saw {seen:#?}\nand the Lease is now {now:#?}"
        ))
    }
}

/// The longest stretch between two consecutive renewals among `samples`, by the holders'
/// clocks: a release keeps the last renewal's time, so a handover counts from the old
/// holder's last renewal to the new holder's first. Conservative: the Lease was held for up
/// to its duration after each renewal.
pub fn longest_without_renewal(samples: &[Sample]) -> Duration {
    let mut renewals: Vec<jiff::Timestamp> = samples.iter().filter_map(|s| s.renewed).collect();
    renewals.dedup();
    renewals
        .windows(2)
        .map(|pair| Duration::try_from(pair[1].duration_since(pair[0])).unwrap_or_default())
        .max()
        .unwrap_or_default()
}
