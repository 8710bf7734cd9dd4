//! What a pass is queued for: the operation whose budget it waits on, and behind how many
//! others, so that the controller can say so in the SecureQueue's status while the pass waits.
//!
//! A pass runs inside [`QueueWatch::scope`]; the budgets note each wait in the task-local
//! watch, and the controller reads it from the other end.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

tokio::task_local! {
    static CURRENT: watch::Sender<Option<Queued>>;
}

/// A pass waiting for its turn at one operation's budget.
#[derive(Clone, Debug, PartialEq)]
pub struct Queued {
    /// `service:Operation`.
    pub operation: String,
    /// Requests ahead of this one.
    pub ahead: usize,
    /// The operation's rate when the wait began, requests per second.
    pub rate: f64,
}

impl Queued {
    /// About how long the wait takes at the current rate.
    pub fn expected_wait(&self) -> Duration {
        Duration::from_secs_f64((self.ahead + 1) as f64 / self.rate)
    }
}

/// The sending end of one pass's watch.
#[derive(Debug)]
pub struct QueueWatch(watch::Sender<Option<Queued>>);

impl QueueWatch {
    /// A watch and the receiver that sees each wait of the pass it scopes.
    pub fn new() -> (Self, watch::Receiver<Option<Queued>>) {
        let (sender, receiver) = watch::channel(None);
        (Self(sender), receiver)
    }

    /// Runs `pass` with its waits noted in this watch.
    pub async fn scope<F: Future>(self, pass: F) -> F::Output {
        CURRENT.scope(self.0, pass).await
    }
}

/// Notes that the current pass waits behind `ahead` others at `operation`'s budget.
pub fn note(operation: &str, ahead: usize, rate: f64) {
    let _ = CURRENT.try_with(|sender| {
        sender.send_replace(Some(Queued {
            operation: operation.to_string(),
            ahead,
            rate,
        }))
    });
}

/// Notes that the current pass's wait is over.
pub fn clear() {
    let _ = CURRENT.try_with(|sender| sender.send_replace(None));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scoped_pass_reports_its_waits_and_others_do_not() {
        let (watch, receiver) = QueueWatch::new();
        watch.scope(async { note("kms:CreateKey", 41, 2.5) }).await;
        let queued = receiver.borrow().clone().unwrap();
        assert_eq!(queued.ahead, 41);
        assert!((queued.expected_wait().as_secs_f64() - 16.8).abs() < 1e-6);
        // Outside any scope, noting does nothing.
        note("kms:CreateKey", 1, 2.5);
        clear();
    }
}
