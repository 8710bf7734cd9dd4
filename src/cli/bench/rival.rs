//! Another client of the account, for `bench --rival-create-keys-per-second`: it calls
//! CreateKey at a fixed rate through a client of its own, unpaced and without retries, so
//! that the operator meets throttles its budget did not foresee, as it does when teams'
//! Terraform shares the account's quota. Its keys are scheduled for deletion at the end.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The description of every key the rival makes.
const DESCRIPTION: &str = "securequeue bench: another client of the account";

/// What the rival did.
#[derive(Debug, Default)]
pub(super) struct RivalCounts {
    /// CreateKey requests sent.
    pub attempted: u64,
    /// Keys made.
    pub created: Vec<String>,
}

/// A running rival.
pub(super) struct Rival {
    client: aws_sdk_kms::Client,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    counts: Arc<Mutex<RivalCounts>>,
}

impl Rival {
    /// Starts calling CreateKey `per_second` times a second in `region`.
    pub(super) async fn start(endpoint_url: Option<&str>, region: &str, per_second: f64) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .retry_config(RetryConfig::disabled());
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let client = aws_sdk_kms::Client::new(&loader.load().await);
        let (stop, mut stopped) = watch::channel(false);
        let counts = Arc::new(Mutex::new(RivalCounts::default()));
        let task = tokio::spawn({
            let (client, counts) = (client.clone(), counts.clone());
            async move {
                let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second));
                loop {
                    tokio::select! {
                        _ = ticks.tick() => {}
                        _ = stopped.changed() => return,
                    }
                    counts.lock().expect("rival counts").attempted += 1;
                    let (client, counts) = (client.clone(), counts.clone());
                    tokio::spawn(async move {
                        if let Ok(out) = client.create_key().description(DESCRIPTION).send().await
                            && let Some(key) = out.key_metadata()
                        {
                            counts
                                .lock()
                                .expect("rival counts")
                                .created
                                .push(key.key_id().to_string());
                        }
                    });
                }
            }
        });
        Self {
            client,
            stop,
            task,
            counts,
        }
    }

    /// Stops the rival, schedules its keys' deletion (the shortest window, 7 days) at 10 a
    /// second, below ScheduleKeyDeletion's quota; returns what it did.
    pub(super) async fn stop(self) -> RivalCounts {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        // Let requests still in flight finish.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let counts = std::mem::take(&mut *self.counts.lock().expect("rival counts"));
        for key in &counts.created {
            let _ = self
                .client
                .schedule_key_deletion()
                .key_id(key)
                .pending_window_in_days(7)
                .send()
                .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        counts
    }
}
