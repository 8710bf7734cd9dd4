//! Prometheus metrics, served on `/metrics`: reconciles by result, reconcile duration, AWS calls
//! by service, operation and outcome, drift corrections, SecureQueues by Ready state, each
//! dead-letter queue's depth, each AWS operation's budget, rate, waiting requests and throttles,
//! and the writes and passes stopped because this replica lost its leadership.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::aws::budget::BudgetSnapshot;
use crate::aws::calls::CallCounts;
use crate::fence::WriteFence;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// How one reconcile ended, as `securequeue_reconciles_total` counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReconcileResult {
    /// The SecureQueue is Ready.
    Ready,
    /// Not Ready for a transient reason; retried with backoff.
    NotReady,
    /// Not Ready until a person acts (kstatus `Stalled`).
    Stalled,
    /// Its deletion finished and the finalizer was removed.
    Deleted,
    /// Its deletion did not finish; the finalizer stays and it is retried.
    DeletionPending,
    /// The Kubernetes API failed (reading it, writing its status, or the finalizer).
    Error,
}

impl ReconcileResult {
    /// Every result, in the order the metric's help text lists them.
    pub const ALL: [ReconcileResult; 6] = [
        ReconcileResult::Ready,
        ReconcileResult::NotReady,
        ReconcileResult::Stalled,
        ReconcileResult::Deleted,
        ReconcileResult::DeletionPending,
        ReconcileResult::Error,
    ];

    /// The `result` label.
    pub fn label(self) -> &'static str {
        match self {
            ReconcileResult::Ready => "ready",
            ReconcileResult::NotReady => "not_ready",
            ReconcileResult::Stalled => "stalled",
            ReconcileResult::Deleted => "deleted",
            ReconcileResult::DeletionPending => "deletion_pending",
            ReconcileResult::Error => "error",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    service: String,
    operation: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    account: String,
    region: String,
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReadyLabels {
    ready: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    namespace: String,
    name: String,
}

/// Every metric the controller exports.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    reconciles: Family<ResultLabels, Counter>,
    duration: Histogram,
    aws_calls: Family<CallLabels, Counter>,
    drift_corrections: Counter,
    ready: Family<ReadyLabels, Gauge>,
    dead_letter_messages: Family<QueueLabels, Gauge>,
    throttles: Family<OperationLabels, Counter>,
    budget: Family<OperationLabels, Gauge<f64, AtomicU64>>,
    rate: Family<OperationLabels, Gauge<f64, AtomicU64>>,
    waiting: Family<OperationLabels, Gauge>,
    writes_fenced: Counter,
    passes_cancelled: Counter,
    /// The fence whose refusals `writes_fenced` counts, and how many of them it has counted.
    fence: WriteFence,
    fenced_counted: Arc<AtomicU64>,
    states: Arc<Mutex<HashMap<String, &'static str>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("securequeue");
        let reconciles = Family::<ResultLabels, Counter>::default();
        registry.register(
            "reconciles",
            format!(
                "Reconciles by result: {}",
                ReconcileResult::ALL.map(ReconcileResult::label).join(", ")
            ),
            reconciles.clone(),
        );
        let duration = Histogram::new(exponential_buckets(0.01, 2.0, 14));
        registry.register(
            "reconcile_duration_seconds",
            "Duration of one reconcile, AWS calls included",
            duration.clone(),
        );
        let aws_calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "aws_calls",
            "AWS API calls by service, operation and outcome (ok, not_found, error)",
            aws_calls.clone(),
        );
        let drift_corrections = Counter::default();
        registry.register(
            "drift_corrections",
            "Changes made outside the operator that it put back",
            drift_corrections.clone(),
        );
        let ready = Family::<ReadyLabels, Gauge>::default();
        registry.register(
            "secure_queues",
            "SecureQueues by the status of their Ready condition",
            ready.clone(),
        );
        let dead_letter_messages = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "dead_letter_queue_messages",
            "Messages waiting in each SecureQueue's dead-letter queue (ApproximateNumberOfMessages)",
            dead_letter_messages.clone(),
        );
        let throttles = Family::<OperationLabels, Counter>::default();
        registry.register(
            "aws_throttled_attempts",
            "Attempts AWS answered with a throttling error, by account, region and operation (kms:CreateKey)",
            throttles.clone(),
        );
        let budget = Family::<OperationLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "aws_budget_requests_per_second",
            "The operator's share of each operation's request quota, by account and region; 0 where AWS documents none",
            budget.clone(),
        );
        let rate = Family::<OperationLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "aws_rate_requests_per_second",
            "The rate each operation is held to now: its budget, less after throttles; 0 while unpaced",
            rate.clone(),
        );
        let waiting = Family::<OperationLabels, Gauge>::default();
        registry.register(
            "aws_waiting_requests",
            "Requests waiting for their turn at each operation's budget, by account and region",
            waiting.clone(),
        );
        let writes_fenced = Counter::default();
        registry.register(
            "writes_fenced",
            "Writes (AWS calls, status patches, Events) not sent because this replica no longer led",
            writes_fenced.clone(),
        );
        let passes_cancelled = Counter::default();
        registry.register(
            "passes_cancelled",
            "Reconciles stopped part way because this replica lost its leadership",
            passes_cancelled.clone(),
        );
        Self {
            registry: Arc::new(registry),
            writes_fenced,
            passes_cancelled,
            fence: WriteFence::open(),
            fenced_counted: Arc::default(),
            reconciles,
            duration,
            aws_calls,
            drift_corrections,
            ready,
            dead_letter_messages,
            throttles,
            budget,
            rate,
            waiting,
            states: Arc::default(),
        }
    }
}

/// Records a reconcile's duration when dropped.
pub struct Timer {
    started: Instant,
    duration: Histogram,
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.duration.observe(self.started.elapsed().as_secs_f64());
    }
}

impl Metrics {
    /// The same metrics, counting the writes `fence` refuses.
    pub fn fenced_by(self, fence: WriteFence) -> Self {
        Self { fence, ..self }
    }

    /// Counts a reconcile stopped part way because leadership was lost.
    pub fn pass_cancelled(&self) {
        self.passes_cancelled.inc();
    }

    /// Starts timing a reconcile.
    pub fn timer(&self) -> Timer {
        Timer {
            started: Instant::now(),
            duration: self.duration.clone(),
        }
    }

    /// Counts a reconcile's result.
    pub fn reconciled(&self, result: ReconcileResult) {
        self.reconciles
            .get_or_create(&ResultLabels {
                result: result.label(),
            })
            .inc();
    }

    /// Counts a pass's AWS calls by outcome: `ok`, `not_found` (a lookup that found nothing)
    /// or `error`.
    pub fn aws_calls(&self, calls: &CallCounts, failed: &CallCounts, not_found: &CallCounts) {
        for (name, total) in &calls.0 {
            let (service, operation) = name.split_once(':').unwrap_or(("unknown", name));
            let errors = failed.0.get(name).copied().unwrap_or(0).min(*total);
            let missing = not_found
                .0
                .get(name)
                .copied()
                .unwrap_or(0)
                .min(total - errors);
            for (outcome, n) in [
                ("ok", total - errors - missing),
                ("not_found", missing),
                ("error", errors),
            ] {
                if n > 0 {
                    self.aws_calls
                        .get_or_create(&CallLabels {
                            service: service.to_string(),
                            operation: operation.to_string(),
                            outcome: outcome.to_string(),
                        })
                        .inc_by(n);
                }
            }
        }
    }

    /// Records what each operation's budget is doing, by account and region.
    pub fn budgets(&self, budgets: &[(String, String, BudgetSnapshot)]) {
        for (account, region, snapshot) in budgets {
            let labels = OperationLabels {
                account: account.clone(),
                region: region.clone(),
                operation: snapshot.operation.clone(),
            };
            let throttles = self.throttles.get_or_create(&labels);
            throttles.inc_by(snapshot.throttles.saturating_sub(throttles.get()));
            self.budget
                .get_or_create(&labels)
                .set(snapshot.budget.unwrap_or(0.0));
            self.rate
                .get_or_create(&labels)
                .set(snapshot.rate.unwrap_or(0.0));
            self.waiting
                .get_or_create(&labels)
                .set(i64::try_from(snapshot.waiting).unwrap_or(i64::MAX));
        }
    }

    /// Counts drift corrections.
    pub fn drift_corrected(&self, count: usize) {
        self.drift_corrections.inc_by(count as u64);
    }

    /// Records a SecureQueue's Ready status (`True`, `False`, `Unknown`), or forgets it (`None`)
    /// once it is deleted.
    pub fn ready_state(&self, uid: &str, status: Option<&'static str>) {
        let mut states = self.states.lock().expect("ready states");
        match status {
            Some(status) => {
                states.insert(uid.to_string(), status);
            }
            None => {
                states.remove(uid);
            }
        }
        for status in ["True", "False", "Unknown"] {
            let n = states.values().filter(|s| **s == status).count();
            self.ready
                .get_or_create(&ReadyLabels {
                    ready: status.to_string(),
                })
                .set(n as i64);
        }
    }

    /// Records a dead-letter queue's depth, or forgets it.
    pub fn dead_letter_messages(&self, namespace: &str, name: &str, messages: Option<u64>) {
        let labels = QueueLabels {
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        match messages {
            Some(n) => {
                self.dead_letter_messages
                    .get_or_create(&labels)
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
            None => {
                self.dead_letter_messages.remove(&labels);
            }
        }
    }

    /// The metrics in Prometheus's text format.
    pub fn encode(&self) -> String {
        let refused = self.fence.refused();
        let counted = self.fenced_counted.swap(refused, Ordering::Relaxed);
        self.writes_fenced.inc_by(refused.saturating_sub(counted));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_reconciles_help_lists_exactly_the_results_counted() {
        let metrics = Metrics::default();
        for result in ReconcileResult::ALL {
            metrics.reconciled(result);
        }
        let text = metrics.encode();
        let help = text
            .lines()
            .find(|l| l.starts_with("# HELP securequeue_reconciles "))
            .expect("the reconciles metric has help");
        let listed: Vec<&str> = help
            .split_once(": ")
            .expect("the help lists results")
            .1
            .trim_end_matches('.')
            .split(", ")
            .collect();
        let counted: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("securequeue_reconciles_total{result=\""))
            .filter_map(|l| l.split('"').next())
            .collect();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        let mut counted_sorted = counted.clone();
        counted_sorted.sort_unstable();
        assert_eq!(sorted, counted_sorted, "{text}");
    }

    #[test]
    fn writes_the_fence_refused_and_cancelled_passes_are_counted() {
        let fence = WriteFence::elected();
        let metrics = Metrics::default().fenced_by(fence.clone());
        for _ in 0..2 {
            assert!(fence.check().is_err());
        }
        metrics.pass_cancelled();
        let text = metrics.encode();
        assert!(text.contains("securequeue_writes_fenced_total 2"), "{text}");
        assert!(
            text.contains("securequeue_passes_cancelled_total 1"),
            "{text}"
        );
        assert!(fence.check().is_err());
        let text = metrics.encode();
        assert!(
            text.contains("securequeue_writes_fenced_total 3"),
            "counted once each: {text}"
        );
    }

    #[test]
    fn calls_are_split_by_outcome() {
        let metrics = Metrics::default();
        let calls = CallCounts(BTreeMap::from([
            ("kms:CreateKey".to_string(), 2),
            ("sqs:GetQueueUrl".to_string(), 3),
        ]));
        let failed = CallCounts(BTreeMap::from([("kms:CreateKey".to_string(), 1)]));
        let not_found = CallCounts(BTreeMap::from([("sqs:GetQueueUrl".to_string(), 1)]));
        metrics.aws_calls(&calls, &failed, &not_found);
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"securequeue_aws_calls_total{service="kms",operation="CreateKey",outcome="ok"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(
            r#"securequeue_aws_calls_total{service="kms",operation="CreateKey",outcome="error"} 1"#
        ));
        assert!(text.contains(
            r#"securequeue_aws_calls_total{service="sqs",operation="GetQueueUrl",outcome="ok"} 2"#
        ));
        assert!(text.contains(r#"securequeue_aws_calls_total{service="sqs",operation="GetQueueUrl",outcome="not_found"} 1"#));
    }

    #[test]
    fn ready_states_are_counted_and_forgotten() {
        let metrics = Metrics::default();
        metrics.ready_state("a", Some("True"));
        metrics.ready_state("b", Some("False"));
        metrics.ready_state("b", Some("True"));
        assert!(
            metrics
                .encode()
                .contains(r#"securequeue_secure_queues{ready="True"} 2"#)
        );
        metrics.ready_state("a", None);
        assert!(
            metrics
                .encode()
                .contains(r#"securequeue_secure_queues{ready="True"} 1"#)
        );
    }

    #[test]
    fn budgets_are_exported_by_operation_and_read_zero_while_unpaced() {
        let metrics = Metrics::default();
        let snapshot = |rate, throttles| BudgetSnapshot {
            operation: "kms:CreateKey".into(),
            budget: Some(2.5),
            rate,
            waiting: 7,
            requests: 40,
            throttles,
            cuts: 1,
        };
        metrics.budgets(&[(
            "111122223333".into(),
            "us-east-1".into(),
            snapshot(Some(1.75), 3),
        )]);
        metrics.budgets(&[("111122223333".into(), "us-east-1".into(), snapshot(None, 5))]);
        let text = metrics.encode();
        let labels = r#"{account="111122223333",region="us-east-1",operation="kms:CreateKey"}"#;
        for line in [
            format!("securequeue_aws_throttled_attempts_total{labels} 5"),
            format!("securequeue_aws_budget_requests_per_second{labels} 2.5"),
            format!("securequeue_aws_rate_requests_per_second{labels} 0.0"),
            format!("securequeue_aws_waiting_requests{labels} 7"),
        ] {
            assert!(text.contains(&line), "{line} not in {text}");
        }
    }
}
