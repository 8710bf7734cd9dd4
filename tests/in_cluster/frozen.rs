//! The frozen leader woken up: once another replica leads and has made every SecureQueue Ready,
//! SIGCONT lets the old leader run on from wherever SIGSTOP caught it, with passes in flight.
//! Until it learns that it lost the Lease (and exits, so that kubelet restarts its container),
//! it must write nothing: no AWS write signed by its session (the emulator names the STS session
//! behind each request's access key, and the chart names each session after its pod), and no
//! change to any SecureQueue, which the new leader, having nothing left to do, no longer writes
//! either. Its reads may go on.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use securequeue::api::SecureQueue;

use super::cluster::Cluster;
use super::pods;
use super::queues;
use crate::emulator::{Recorded, recorded_at};

/// What the old leader did between SIGCONT and its restart.
pub struct Resumed {
    /// How long it was stopped.
    pub stopped: Duration,
    /// From SIGCONT to its log saying it lost the Lease.
    pub learned_after: Duration,
    /// From SIGCONT to its container running again, restarted.
    pub restarted_after: Duration,
    /// AWS requests signed by its session after SIGCONT, all reads.
    pub reads: usize,
    /// Lines of its log that name the fence: a write not sent, or a pass cancelled, because
    /// the Lease was lost (a pass may be logged more than once).
    pub fenced: usize,
}

impl fmt::Display for Resumed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stopped {:.1} s; after SIGCONT it logged the Lease lost in {:.3} s and ran restarted in {:.1} s, sent {} AWS reads and no write, changed no SecureQueue; {} lines of its log say the fence stopped a write or a pass",
            self.stopped.as_secs_f64(),
            self.learned_after.as_secs_f64(),
            self.restarted_after.as_secs_f64(),
            self.reads,
            self.fenced,
        )
    }
}

/// Resumes the operator `old` (host process `pid`, stopped at `stopped`) and checks that it
/// writes nothing before it restarts.
pub async fn resume(cluster: &Cluster, old: &str, pid: u32, stopped: Instant) -> Resumed {
    let before = versions(&queues::all(cluster).await);
    let restarts = pods::restarts(&pods::get(cluster, old).await);
    let resumed_at = SystemTime::now();
    let stopped = stopped.elapsed();
    pods::signal(pid, "CONT");
    let resumed = Instant::now();
    pods::until_restarted(cluster, old, restarts, Duration::from_secs(60)).await;
    let restarted_after = resumed.elapsed();

    let since = resumed_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let sent: Vec<Recorded> = recorded_at(&cluster.emulator, "")
        .into_iter()
        .filter(|r| r.session == old && r.at >= since)
        .collect();
    let writes: Vec<&Recorded> = sent
        .iter()
        .filter(|r| r.is_write() && !r.call.starts_with("sts:"))
        .collect();
    let log = pods::log(cluster, old, true).await;
    assert!(
        writes.is_empty(),
        "the old leader {old} wrote to AWS after SIGCONT: {writes:#?}\nits log:\n{log}"
    );
    let changed = changed_since(&before, &queues::all(cluster).await);
    assert!(
        changed.is_empty(),
        "SecureQueues changed after the old leader {old} was resumed: {changed:#?}\nits log:\n{log}"
    );
    let learned = learned_at(&log)
        .unwrap_or_else(|| panic!("the old leader's log does not say it lost the Lease:\n{log}"));
    let resumed_at = jiff::Timestamp::try_from(resumed_at).unwrap();
    Resumed {
        stopped,
        learned_after: Duration::try_from(learned.duration_since(resumed_at)).unwrap_or_default(),
        restarted_after,
        reads: sent.iter().filter(|r| !r.call.starts_with("sts:")).count(),
        fenced: log
            .lines()
            .filter(|l| l.contains("no longer holds the leader Lease"))
            .count(),
    }
}

/// When the operator's JSON log says it lost the Lease.
fn learned_at(log: &str) -> Option<jiff::Timestamp> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| {
            line["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("lost the leader Lease"))
        })
        .and_then(|line| line["timestamp"].as_str()?.parse().ok())
}

/// Each SecureQueue's resourceVersion, by namespace/name.
fn versions(queues: &[SecureQueue]) -> BTreeMap<String, String> {
    queues
        .iter()
        .map(|q| {
            (
                key(q),
                q.metadata.resource_version.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn key(queue: &SecureQueue) -> String {
    format!(
        "{}/{}",
        queue.metadata.namespace.as_deref().unwrap_or_default(),
        queue.metadata.name.as_deref().unwrap_or_default()
    )
}

/// The SecureQueues whose resourceVersion moved, with their managers' entries (manager,
/// operation, time): who wrote what, and when.
fn changed_since(before: &BTreeMap<String, String>, now: &[SecureQueue]) -> Vec<String> {
    now.iter()
        .filter(|q| before.get(&key(q)) != q.metadata.resource_version.as_ref())
        .map(|q| {
            let managers: Vec<String> = q
                .metadata
                .managed_fields
                .iter()
                .flatten()
                .map(|m| {
                    format!(
                        "{} {} {}",
                        m.manager.as_deref().unwrap_or_default(),
                        m.operation.as_deref().unwrap_or_default(),
                        m.time.as_ref().map(|t| t.0.to_string()).unwrap_or_default()
                    )
                })
                .collect();
            format!("{}: {}", key(q), managers.join("; "))
        })
        .collect()
}
