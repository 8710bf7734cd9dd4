//! Failover while ten SecureQueues converge: the Lease holder is deleted, killed or frozen once
//! the operator has begun creating their keys; leadership must come back within its bound, and
//! every SecureQueue must end Ready with exactly its resources.

use std::fmt;
use std::time::{Duration, Instant};

use super::cluster::{Cluster, NodeHost};
use super::frozen::{self, Resumed};
use super::lease::{LeaseWatch, Sample, longest_without_renewal};
use super::pods;
use super::queues;
use super::release::NAMESPACE;

/// SecureQueues converging at each failover.
const WAVE: usize = 10;
/// Time for the API round trips of a renewal and of the watch that reports it: the margin on
/// top of the Lease's own bound.
const ROUND_TRIPS: Duration = Duration::from_millis(500);
/// Time for a Deployment to replace a pod, or the ten SecureQueues to converge.
const SETTLE: Duration = Duration::from_secs(120);

/// What is done to the Lease holder.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Failover {
    /// `kubectl delete pod`: SIGTERM, and the operator releases the Lease.
    Graceful,
    /// SIGKILL of its process: kubelet restarts the container in the same pod.
    Kill,
    /// SIGSTOP of its process for longer than the Lease, then SIGCONT.
    Freeze,
}

/// What a failover measured.
pub struct Handover {
    pub failover: Failover,
    /// How many of the ten were Ready when the holder was acted on.
    pub ready_at_action: usize,
    pub old: String,
    /// The other replica, standing by when the holder was acted on.
    pub standby: String,
    pub new: String,
    /// From the action to the first renewal by whoever leads next, on the suite's clock.
    pub delay: Duration,
    /// From the old holder's last renewal to the new holder's first, by the Lease.
    pub lease_gap: Duration,
    /// The bound the gap must keep.
    pub bound: Duration,
    /// From the action to all ten Ready.
    pub converged: Duration,
    /// SecureQueues in the cluster, all Ready with exactly their resources.
    pub counted: usize,
    /// What the frozen leader did after it was resumed.
    pub resumed: Option<Resumed>,
}

impl fmt::Display for Handover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let taker = if self.new == self.old {
            "its own restarted container took it back"
        } else if self.new == self.standby {
            "the standby took it"
        } else {
            "the pod replacing it took it"
        };
        write!(
            f,
            "{:?}: acted with {}/{WAVE} Ready; {} -> {} ({taker}) {:.2} s after the action; Lease unrenewed for {:.2} s (bound {:.2} s); all ten Ready {:.1} s after the action; census of {} SecureQueues passed",
            self.failover,
            self.ready_at_action,
            self.old,
            self.new,
            self.delay.as_secs_f64(),
            self.lease_gap.as_secs_f64(),
            self.bound.as_secs_f64(),
            self.converged.as_secs_f64(),
            self.counted,
        )?;
        if let Some(resumed) = &self.resumed {
            write!(f, "; {resumed}")?;
        }
        Ok(())
    }
}

/// Applies ten SecureQueues in `namespace`, does `failover` to the Lease holder once their
/// keys are being created, and checks what follows.
pub async fn run(
    cluster: &Cluster,
    lease: &LeaseWatch,
    failover: Failover,
    namespace: &str,
) -> Handover {
    let pods = pods::until_ready(cluster, 2, SETTLE).await;
    let names: Vec<String> = pods.iter().map(pods::name).collect();
    let old = lease.latest().expect("a Lease").holder;
    assert!(
        names.contains(&old),
        "the Lease is held by {old}, not one of {names:?}"
    );
    let other = names.iter().find(|n| **n != old).unwrap().clone();
    let duration = lease.latest().unwrap().duration;
    let bound = duration + duration / 6 + ROUND_TRIPS;

    let wave: Vec<String> = (0..WAVE).map(|i| format!("q{i}")).collect();
    queues::apply(cluster, &queues::manifest(namespace, &wave, "")).await;
    let ready_at_action = queues::until_converging(cluster, namespace, SETTLE).await;
    assert!(
        ready_at_action < WAVE,
        "all {WAVE} were Ready before the failover"
    );

    // The holder's process, found before the clock starts.
    let pid = match failover {
        Failover::Graceful => None,
        Failover::Kill | Failover::Freeze => {
            Some(pods::host_pid(cluster, host(cluster), &old).await)
        }
    };
    let restarts = pods::restarts(&pods::get(cluster, &old).await);
    let mark = lease.mark();
    let acted = Instant::now();
    let acted_wall = jiff::Timestamp::now();
    let new = match failover {
        Failover::Graceful => {
            cluster
                .kubectl(
                    &["delete", "pod", &old, "-n", NAMESPACE, "--wait=false"],
                    None,
                )
                .await;
            // Faster than the Lease could expire: it was released. The standby, or the pod
            // that replaces the deleted one, may take it.
            let taken = lease
                .first_after(mark, duration, &format!("a holder other than {old}"), |s| {
                    !s.holder.is_empty() && s.holder != old
                })
                .await;
            explained(cluster, taken).await
        }
        Failover::Kill => {
            pods::signal(pid.unwrap(), "KILL");
            // Its restarted container, as the same holder, or the standby.
            let taken = lease
                .first_after(mark, bound, "a renewal after the kill", |s| {
                    !s.holder.is_empty() && s.renewed.is_some_and(|r| r > acted_wall)
                })
                .await;
            let taken = explained(cluster, taken).await;
            if taken.holder == old {
                pods::until_restarted(cluster, &old, restarts, SETTLE).await;
            }
            taken
        }
        Failover::Freeze => {
            pods::signal(pid.unwrap(), "STOP");
            let taken = lease
                .first_after(mark, bound, &format!("{other} holding it"), |s| {
                    s.holder == other
                })
                .await;
            explained(cluster, taken).await
        }
    };
    let lease_gap = gap_before(&lease.since(mark), &new);
    assert!(
        lease_gap <= bound,
        "{failover:?}: the Lease went unrenewed for {lease_gap:?}, over {bound:?}"
    );
    queues::wait_ready(cluster, namespace, SETTLE).await;
    let converged = acted.elapsed();
    // Woken only when the new leader has nothing left to write, and after longer than the
    // Lease and one renewal, whatever the time the handover and the convergence took: no watch
    // can say that time has passed.
    let resumed = match (failover, pid) {
        (Failover::Freeze, Some(pid)) => {
            tokio::time::sleep_until((acted + bound).into()).await;
            Some(frozen::resume(cluster, &old, pid, acted).await)
        }
        _ => None,
    };
    let counted = queues::assert_census(cluster).await;
    Handover {
        failover,
        ready_at_action,
        delay: new.seen - acted,
        old,
        standby: other,
        new: new.holder.clone(),
        lease_gap,
        bound,
        converged,
        counted,
        resumed,
    }
}

/// The new leadership, or a failure that shows the operator's pods and the end of their logs.
async fn explained(cluster: &Cluster, taken: Result<Sample, String>) -> Sample {
    let why = match taken {
        Ok(sample) => return sample,
        Err(why) => why,
    };
    let mut shown = String::new();
    for pod in pods::running(cluster).await {
        let name = pods::name(&pod);
        let log = pods::log(cluster, &name, false).await;
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        shown.push_str(&format!(
            "\n{name}: {:?}\n{}",
            pod.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    panic!("{why}\nthe operator's pods:{shown}")
}

fn host(cluster: &Cluster) -> &NodeHost {
    cluster
        .host
        .as_ref()
        .expect("signals need the node's containerd (SECUREQUEUE_NODE_CONTAINERD_SOCKET)")
}

/// The stretch without a renewal that ended with `new`: from the last renewal before it.
fn gap_before(samples: &[Sample], new: &Sample) -> Duration {
    let upto: Vec<Sample> = samples
        .iter()
        .take_while(|s| s.seen <= new.seen)
        .cloned()
        .collect();
    longest_without_renewal(&upto)
}
