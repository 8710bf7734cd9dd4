//! Whether this process may still write: the leader election's word, checked just before each
//! write is sent, to AWS and to the Kubernetes API alike.
//!
//! Leader election decides who starts passes; it does nothing about a pass already running when
//! leadership is lost (client-go's leader election says so too: it gives no fencing, and its
//! callers must stop their work when `OnStoppedLeading` fires). A process frozen for a while (a
//! long pause, a stalled node, a partition) wakes up with passes in flight whose next write
//! would land beside the new leader's. So every write asks the fence first, and the fence
//! answers by this process's own clocks: open until the renew deadline that the last
//! successful renewal bought, shut from then on. No message has to arrive for it to shut, which
//! is the point: a process that has been frozen cannot have heard anything.
//!
//! Both clocks are read: the monotonic one, which runs on while a process is stopped, and the
//! wall clock, which jumps forward when a suspended machine wakes while the monotonic one (on
//! Linux, `CLOCK_MONOTONIC`) stood still. The fence is shut when either says the deadline passed.
//! `controller::leader` explains how the deadline is chosen.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;

/// Until when this process may write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Permit {
    /// Always: no leader election (a single replica, or a command run by hand).
    Always,
    /// Not yet: an elected process that has not led so far.
    NotYet,
    /// Until either clock reaches its instant.
    Until(Instant, SystemTime),
    /// Never again: leadership was lost.
    Lost,
}

impl Permit {
    /// How long writes stay allowed from `now` (`None`: for ever; zero: not now).
    fn remaining(self, now: Instant, wall: SystemTime) -> Option<Duration> {
        match self {
            Permit::Always => None,
            Permit::NotYet | Permit::Lost => Some(Duration::ZERO),
            Permit::Until(until, wall_until) => Some(
                until
                    .saturating_duration_since(now)
                    .min(wall_until.duration_since(wall).unwrap_or(Duration::ZERO)),
            ),
        }
    }
}

/// The fence every write of a process passes; clones share it.
#[derive(Clone, Debug)]
pub struct WriteFence {
    permit: watch::Sender<Permit>,
    /// Writes it refused, for the metrics.
    refused: Arc<AtomicU64>,
}

impl Default for WriteFence {
    fn default() -> Self {
        Self::open()
    }
}

/// Why a write was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "not sent: this replica no longer holds the leader Lease (it expired by this replica's own clock, or another replica took it), so it writes nothing more"
)]
pub struct Fenced;

impl WriteFence {
    /// A fence that never shuts: there is no leader election.
    pub fn open() -> Self {
        Self::starting(Permit::Always)
    }

    /// A fence for an elected process, shut until it leads.
    pub fn elected() -> Self {
        Self::starting(Permit::NotYet)
    }

    fn starting(permit: Permit) -> Self {
        Self {
            permit: watch::Sender::new(permit),
            refused: Arc::default(),
        }
    }

    /// Allows writes until `deadline` after `renewed`, the moment the successful renewal (or
    /// acquisition) of the Lease began, read on both clocks. Nothing reopens a lost fence.
    pub fn renewed(&self, renewed: (Instant, SystemTime), deadline: Duration) {
        let until = Permit::Until(renewed.0 + deadline, renewed.1 + deadline);
        self.permit.send_if_modified(|permit| {
            let later = match *permit {
                Permit::NotYet => true,
                Permit::Until(current, _) => renewed.0 + deadline > current,
                Permit::Always | Permit::Lost => false,
            };
            if later {
                *permit = until;
            }
            later
        });
    }

    /// Shuts the fence for good: leadership was lost.
    pub fn lose(&self) {
        self.permit.send_if_modified(|permit| {
            let changed = *permit != Permit::Always && *permit != Permit::Lost;
            if changed {
                *permit = Permit::Lost;
            }
            changed
        });
    }

    /// Whether a write may be sent now; a refusal is counted.
    pub fn check(&self) -> Result<(), Fenced> {
        let remaining = self
            .permit
            .borrow()
            .remaining(Instant::now(), SystemTime::now());
        match remaining {
            Some(left) if left.is_zero() => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                Err(Fenced)
            }
            _ => Ok(()),
        }
    }

    /// How many writes it refused.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Resolves once writes are no longer allowed: at the deadline unless a renewal moved it,
    /// or when leadership is lost. Never resolves for an open fence.
    pub async fn shut(&self) {
        let mut permits = self.permit.subscribe();
        loop {
            let permit = *permits.borrow_and_update();
            match permit.remaining(Instant::now(), SystemTime::now()) {
                None => std::future::pending::<()>().await,
                Some(left) if left.is_zero() => return,
                Some(left) => {
                    tokio::select! {
                        _ = tokio::time::sleep(left) => {}
                        changed = permits.changed() => {
                            if changed.is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> (Instant, SystemTime) {
        (Instant::now(), SystemTime::now())
    }

    #[test]
    fn without_an_election_writes_are_always_allowed() {
        let fence = WriteFence::open();
        assert_eq!(fence.check(), Ok(()));
        fence.lose();
        assert_eq!(fence.check(), Ok(()), "nothing to lose without an election");
    }

    #[test]
    fn an_elected_process_writes_only_until_its_deadline() {
        let fence = WriteFence::elected();
        assert_eq!(fence.check(), Err(Fenced), "not before it leads");
        fence.renewed(now(), Duration::from_secs(60));
        assert_eq!(fence.check(), Ok(()));
        let long_ago = (
            Instant::now() - Duration::from_secs(120),
            SystemTime::now() - Duration::from_secs(120),
        );
        let lapsed = WriteFence::elected();
        lapsed.renewed(long_ago, Duration::from_secs(60));
        assert_eq!(lapsed.check(), Err(Fenced), "its deadline passed");
        assert_eq!((fence.refused(), lapsed.refused()), (1, 1));
    }

    #[test]
    fn either_clock_past_the_deadline_shuts_it() {
        // A machine that slept: the monotonic clock stood still, the wall clock moved on.
        let slept = (Instant::now(), SystemTime::now() - Duration::from_secs(120));
        let fence = WriteFence::elected();
        fence.renewed(slept, Duration::from_secs(60));
        assert_eq!(fence.check(), Err(Fenced));
    }

    #[test]
    fn a_lost_fence_stays_shut_and_an_older_renewal_moves_nothing() {
        let fence = WriteFence::elected();
        fence.renewed(now(), Duration::from_secs(60));
        let earlier = (
            Instant::now() - Duration::from_secs(90),
            SystemTime::now() - Duration::from_secs(90),
        );
        fence.renewed(earlier, Duration::from_secs(60));
        assert_eq!(fence.check(), Ok(()), "a late answer to an old renewal");
        fence.lose();
        assert_eq!(fence.check(), Err(Fenced), "lost");
        fence.renewed(now(), Duration::from_secs(60));
        assert_eq!(fence.check(), Err(Fenced));
    }

    #[tokio::test]
    async fn it_shuts_at_the_deadline_by_itself_or_when_lost() {
        let fence = WriteFence::elected();
        fence.renewed(now(), Duration::from_millis(50));
        tokio::time::timeout(Duration::from_secs(5), fence.shut())
            .await
            .expect("shut at the deadline without any message");

        let fence = WriteFence::elected();
        fence.renewed(now(), Duration::from_secs(600));
        let waiting = tokio::spawn({
            let fence = fence.clone();
            async move { fence.shut().await }
        });
        fence.lose();
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("shut when lost")
            .unwrap();
    }
}
