//! Leader election on a `coordination.k8s.io/v1` Lease, so that two or more replicas are safe:
//! only the holder reconciles. kube 5 has no leader election of its own and the crates that
//! offer one do not build against kube 5, so this is the client-go algorithm in a few lines:
//! take the Lease when it is free or expired, renew it well inside its duration, and use the
//! API server's optimistic concurrency (resourceVersion) so only one of two racing replicas wins.
//!
//! # Fencing, and the arithmetic behind it
//!
//! Holding the Lease decides who starts passes; [`WriteFence`] decides who may still write
//! (see [`crate::fence`]). With `L` the Lease's duration ([`Timing::of`]):
//!
//! - the leader renews every `L/6`;
//! - each successful renewal (or acquisition) opens the fence until `D = L/2` after the moment
//!   its request *began*, on this process's own clocks; a leader that has not renewed by then has
//!   lost, and stops;
//! - every write, to AWS and to the Kubernetes API, checks the fence just before it is sent, so
//!   the last write starts before `D`; each AWS attempt is abandoned after `A`, the attempt
//!   timeout, so it is over by `D + A`;
//! - another replica takes the Lease only once its `renewTime` is `L` old ([`is_free`]), and the
//!   renewal wrote a `renewTime` no earlier than its request began.
//!
//! So the old leader's last write is over before the new leader can start if `D + A + M <= L`,
//! `M` = 500 ms for the two replicas' clocks (their rates, and the skew of the wall clocks the
//! `renewTime` comparison reads): `A <= L/2 - 500 ms`. `securequeue run` holds the AWS attempt
//! timeout to [`Timing::longest_attempt`] (7 s at the default 15 s Lease) and refuses a longer
//! one. The one window no clock closes: a process frozen in the microseconds between a check
//! and its send sends that request on waking; no AWS API takes a fencing token that would let
//! the server refuse it.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::sync::watch;
use tracing::{error, info, warn};

use super::Stop;
use crate::fence::WriteFence;

/// How leader election paces itself, from the Lease's duration; see the module's documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// How often the leader renews the Lease.
    pub renew_every: Duration,
    /// How long after a successful renewal began the leader may write.
    pub renew_deadline: Duration,
    /// The longest an AWS attempt may take so that writes end before a new leader can start.
    pub longest_attempt: Duration,
}

/// What the two replicas' clocks may disagree by, in rate and (for the wall clock) in skew.
const CLOCK_MARGIN: Duration = Duration::from_millis(500);

impl Timing {
    /// The timing for a Lease of `lease`.
    pub fn of(lease: Duration) -> Self {
        let renew_deadline = lease / 2;
        Self {
            renew_every: lease / 6,
            renew_deadline,
            longest_attempt: (lease - renew_deadline).saturating_sub(CLOCK_MARGIN),
        }
    }
}

/// Where the Lease lives and who this replica is.
#[derive(Clone, Debug)]
pub struct LeaderElection {
    /// The Lease's namespace.
    pub namespace: String,
    /// The Lease's name.
    pub name: String,
    /// This replica's identity (the pod name).
    pub holder: String,
    /// How long a Lease holds without renewal.
    pub duration: Duration,
    /// What every write passes: open while this replica leads, by its own clocks.
    pub fence: WriteFence,
}

impl LeaderElection {
    /// Waits until this replica holds the Lease, then keeps renewing it in the background,
    /// sending [`Stop::LeadershipLost`] on `stop` if it is lost. `None` when a stop came first.
    pub async fn lead(
        &self,
        client: Client,
        stop: watch::Sender<Option<Stop>>,
    ) -> Option<LeaseLock> {
        let api = Api::<Lease>::namespaced(client, &self.namespace);
        let lock = LeaseLock::new(api, &self.name, &self.holder, self.duration);
        if !become_leader(&lock, &self.fence, stop.subscribe()).await {
            return None;
        }
        tokio::spawn(keep_leading(lock.clone(), self.fence.clone(), stop));
        Some(lock)
    }
}

/// The moment a Lease request begins, on both clocks the fence reads.
fn began() -> (std::time::Instant, std::time::SystemTime) {
    (std::time::Instant::now(), std::time::SystemTime::now())
}

/// Waits until this replica holds the Lease, opening the fence, or a stop is requested (then
/// `false`).
async fn become_leader(
    lock: &LeaseLock,
    fence: &WriteFence,
    mut stop: watch::Receiver<Option<Stop>>,
) -> bool {
    loop {
        let began = began();
        match lock.try_acquire_or_renew().await {
            Ok(Leadership::Leading) => {
                fence.renewed(began, lock.timing().renew_deadline);
                info!("acquired the leader Lease");
                return true;
            }
            Ok(Leadership::Following(holder)) => {
                info!(%holder, "standing by: another replica leads")
            }
            Err(e) => warn!(error = %e, "leader election failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(lock.timing().renew_every) => {}
            _ = stop.wait_for(Option::is_some) => return false,
        }
    }
}

/// Renews the Lease, moving the fence's deadline on; when the Lease is lost, or the fence's
/// deadline passes without a renewal (the API server unreachable, or this process frozen),
/// shuts the fence for good and asks the controller to stop.
async fn keep_leading(lock: LeaseLock, fence: WriteFence, stop: watch::Sender<Option<Stop>>) {
    let timing = lock.timing();
    let expired = || "unknown: the Lease was not renewed before the renew deadline".to_string();
    let holder = loop {
        tokio::select! {
            _ = tokio::time::sleep(timing.renew_every) => {}
            _ = fence.shut() => break expired(),
        }
        let began = began();
        let renewal = tokio::select! {
            renewal = lock.try_acquire_or_renew() => renewal,
            _ = fence.shut() => break expired(),
        };
        match renewal {
            Ok(Leadership::Leading) => fence.renewed(began, timing.renew_deadline),
            Ok(Leadership::Following(holder)) => break holder,
            Err(e) => warn!(error = %e, "renewing the leader Lease failed; retrying"),
        }
    };
    fence.lose();
    error!(%holder, "lost the leader Lease: no more writes, and in-flight passes are cancelled");
    let _ = stop.send(Some(Stop::LeadershipLost(holder)));
}

/// One replica's claim on the Lease.
#[derive(Clone, Debug)]
pub struct LeaseLock {
    api: Api<Lease>,
    name: String,
    holder: String,
    duration: Duration,
}

/// What the Lease says now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Leadership {
    /// This replica holds the Lease.
    Leading,
    /// Another replica holds it; the text names the holder.
    Following(String),
}

fn seconds(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs()).unwrap_or(i32::MAX).max(1)
}

/// Whether a Lease held by someone else may be taken: nobody holds it, or its holder has not
/// renewed it within its duration.
pub fn is_free(spec: &LeaseSpec, now: jiff::Timestamp) -> bool {
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    let (Some(renewed), Some(duration)) = (&spec.renew_time, spec.lease_duration_seconds) else {
        return true;
    };
    holder.is_empty() || renewed.0 + jiff::SignedDuration::from_secs(i64::from(duration)) < now
}

impl LeaseLock {
    /// A claim by `holder` on the Lease `name` of `api`'s namespace.
    pub fn new(api: Api<Lease>, name: &str, holder: &str, duration: Duration) -> Self {
        Self {
            api,
            name: name.to_string(),
            holder: holder.to_string(),
            duration,
        }
    }

    /// How this Lease's holder paces itself.
    pub fn timing(&self) -> Timing {
        Timing::of(self.duration)
    }

    /// Takes, renews or observes the Lease. A lost race is `Following`, not an error.
    pub async fn try_acquire_or_renew(&self) -> Result<Leadership, kube::Error> {
        let now = jiff::Timestamp::now();
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..Default::default()
                },
                spec: Some(self.claim(None, now)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Leadership::Leading),
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    Ok(Leadership::Following("another replica".to_string()))
                }
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        if holder != self.holder && !is_free(&spec, now) {
            return Ok(Leadership::Following(holder));
        }
        lease.spec = Some(self.claim(Some(&spec), now));
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(Leadership::Leading),
            Err(kube::Error::Api(status)) if status.code == 409 => {
                Ok(Leadership::Following(holder))
            }
            Err(e) => Err(e),
        }
    }

    /// Gives the Lease up on shutdown, so another replica takes over at once. A failure is
    /// only logged: the Lease then expires after its duration.
    pub async fn step_down(&self) {
        if let Err(e) = self.release().await {
            warn!(error = %e, "could not release the leader Lease");
        }
    }

    /// Clears the Lease's holder, if it is still this replica.
    async fn release(&self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            return Ok(());
        };
        let mut spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.holder.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        lease.spec = Some(spec);
        self.api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
            .map(|_| ())
    }

    /// The spec this replica writes: renewing keeps the acquire time, taking over counts a
    /// transition.
    fn claim(&self, previous: Option<&LeaseSpec>, now: jiff::Timestamp) -> LeaseSpec {
        let renewing =
            previous.is_some_and(|p| p.holder_identity.as_deref() == Some(self.holder.as_str()));
        let transitions = previous.and_then(|p| p.lease_transitions).unwrap_or(0);
        LeaseSpec {
            holder_identity: Some(self.holder.clone()),
            lease_duration_seconds: Some(seconds(self.duration)),
            acquire_time: if renewing {
                previous.and_then(|p| p.acquire_time.clone())
            } else {
                Some(MicroTime(now))
            },
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(if renewing || previous.is_none() {
                transitions
            } else {
                transitions + 1
            }),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(holder: &str, renewed_secs_ago: i64, duration: i32, now: jiff::Timestamp) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.to_string()),
            renew_time: Some(MicroTime(
                now - jiff::SignedDuration::from_secs(renewed_secs_ago),
            )),
            lease_duration_seconds: Some(duration),
            ..Default::default()
        }
    }

    #[test]
    fn the_last_write_ends_before_another_replica_can_take_the_lease() {
        for seconds in [3, 4, 6, 15, 60, 300] {
            let lease = Duration::from_secs(seconds);
            let timing = Timing::of(lease);
            assert!(
                timing.renew_deadline + timing.longest_attempt + CLOCK_MARGIN <= lease,
                "{timing:?}"
            );
            assert!(
                timing.renew_every * 3 <= timing.renew_deadline,
                "{timing:?}"
            );
        }
        assert_eq!(
            Timing::of(Duration::from_secs(15)).longest_attempt,
            Duration::from_secs(7)
        );
    }

    #[test]
    fn a_lease_is_free_when_unheld_or_expired() {
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        assert!(!is_free(&held("a", 5, 15, now), now));
        assert!(is_free(&held("a", 16, 15, now), now));
        assert!(is_free(&held("", 1, 15, now), now));
        assert!(is_free(&LeaseSpec::default(), now));
    }
}
