//! Counting AWS calls, one pass at a time, with an SDK interceptor.
//!
//! Every SDK client carries [`CallCounter`]. A pass runs inside [`CallLog::scope`], which puts
//! its log in a task-local, so concurrent passes sharing one client are counted apart. The same
//! log can end a pass after a given number of calls, which is how the tests kill a converge
//! between any two calls.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;

tokio::task_local! {
    static CURRENT: CallLog;
}

/// The calls one pass made, by `service:Operation`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CallCounts(pub BTreeMap<String, u64>);

impl CallCounts {
    /// Every call.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Calls that only read: `Get*`, `List*` and `Describe*`.
    pub fn reads(&self) -> u64 {
        self.0
            .iter()
            .filter(|(name, _)| is_read(name))
            .map(|(_, n)| n)
            .sum()
    }

    /// Calls that change something.
    pub fn writes(&self) -> u64 {
        self.total() - self.reads()
    }

    /// The calls that change something, by name.
    pub fn write_operations(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter(|name| !is_read(name))
            .map(String::as_str)
            .collect()
    }

    /// Adds another pass's counts.
    pub fn add(&mut self, other: &CallCounts) {
        for (name, n) in &other.0 {
            *self.0.entry(name.clone()).or_default() += n;
        }
    }
}

fn is_read(name: &str) -> bool {
    let operation = name.split_once(':').map_or(name, |(_, op)| op);
    ["Get", "List", "Describe"]
        .iter()
        .any(|prefix| operation.starts_with(prefix))
}

/// The log of one pass: its counts, and an optional limit after which calls fail.
#[derive(Clone, Debug, Default)]
pub struct CallLog {
    inner: Arc<Mutex<LogState>>,
}

#[derive(Debug, Default)]
struct LogState {
    counts: CallCounts,
    failed: CallCounts,
    not_found: CallCounts,
    refused: CallCounts,
    made: u64,
    stop: Option<Stop>,
    stopped: bool,
}

/// Where a limited pass stops.
#[derive(Debug)]
enum Stop {
    /// After this many calls.
    AfterCalls(u64),
    /// After the first call of this operation (`service:Operation`).
    AfterOperation(String),
}

/// The error a call gets once the pass's limit is reached: the simulated crash.
#[derive(Debug, thiserror::Error)]
#[error("stopped before {operation}: the pass was limited to {made} AWS calls")]
pub struct CallLimitReached {
    /// The call that was not made.
    pub operation: String,
    /// The calls that were made.
    pub made: u64,
}

impl CallLog {
    /// A log whose pass fails every call after the first `limit`, as if the process had died.
    pub fn stopping_after(limit: u64) -> Self {
        Self::stopping(Stop::AfterCalls(limit))
    }

    /// A log whose pass fails every call after the first `service:Operation` call.
    pub fn stopping_after_operation(operation: &str) -> Self {
        Self::stopping(Stop::AfterOperation(operation.to_string()))
    }

    fn stopping(stop: Stop) -> Self {
        let log = Self::default();
        log.inner.lock().expect("call log").stop = Some(stop);
        log
    }

    /// Runs `pass` with this log counting its calls.
    pub async fn scope<F: Future>(&self, pass: F) -> F::Output {
        CURRENT.scope(self.clone(), pass).await
    }

    /// The calls counted so far.
    pub fn counts(&self) -> CallCounts {
        self.inner.lock().expect("call log").counts.clone()
    }

    /// The counted calls that ended in an error, after the SDK's retries.
    pub fn failures(&self) -> CallCounts {
        self.inner.lock().expect("call log").failed.clone()
    }

    /// The counted calls whose error was a lookup's expected "not found".
    pub fn not_found(&self) -> CallCounts {
        self.inner.lock().expect("call log").not_found.clone()
    }

    fn record_not_found(&self, name: &str) {
        let mut state = self.inner.lock().expect("call log");
        if let Some(failed) = state.failed.0.get_mut(name).filter(|n| **n > 0) {
            *failed -= 1;
            *state.not_found.0.entry(name.to_string()).or_default() += 1;
        }
    }

    fn record_requeued(&self, name: &str) {
        let mut state = self.inner.lock().expect("call log");
        if let Some(failed) = state.failed.0.get_mut(name).filter(|n| **n > 0) {
            *failed -= 1;
        }
        if let Some(count) = state.counts.0.get_mut(name).filter(|n| **n > 0) {
            *count -= 1;
            state.made -= 1;
        }
    }

    fn record_failure(&self, name: String) {
        let mut state = self.inner.lock().expect("call log");
        // A call refused by the limit was never made, so it is no failure of AWS's.
        if let Some(refused) = state.refused.0.get_mut(&name).filter(|n| **n > 0) {
            *refused -= 1;
            return;
        }
        *state.failed.0.entry(name).or_default() += 1;
    }

    fn record(&self, name: String) -> Result<(), CallLimitReached> {
        let mut state = self.inner.lock().expect("call log");
        let exhausted = match &state.stop {
            Some(Stop::AfterCalls(limit)) => state.made >= *limit,
            _ => state.stopped,
        };
        if exhausted {
            *state.refused.0.entry(name.clone()).or_default() += 1;
            return Err(CallLimitReached {
                operation: name,
                made: state.made,
            });
        }
        if matches!(&state.stop, Some(Stop::AfterOperation(op)) if *op == name) {
            state.stopped = true;
        }
        state.made += 1;
        *state.counts.0.entry(name).or_default() += 1;
        Ok(())
    }
}

/// Tells the current pass's log that the last call of `service:Operation`, throttled, is sent
/// again: a retry, not a new call, and no failure unless the retry fails too.
pub fn note_requeued(name: &str) {
    let _ = CURRENT.try_with(|log| log.record_requeued(name));
}

/// Tells the current pass's log that the last failure of `service:Operation` was a lookup's
/// expected "not found", not a failure.
pub fn note_not_found(name: &str) {
    let _ = CURRENT.try_with(|log| log.record_not_found(name));
}

fn operation_name(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>().map_or_else(
        || "unknown:unknown".to_string(),
        |m| format!("{}:{}", m.service().to_lowercase(), m.name()),
    )
}

/// The interceptor on every SDK client: records each operation (not each retry) in the pass's
/// log, if the call is made inside one.
#[derive(Debug, Default)]
pub struct CallCounter;

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "securequeue::CallCounter"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = operation_name(cfg);
        match CURRENT.try_with(|log| log.record(name)) {
            Ok(Err(stop)) => Err(Box::new(stop)),
            Ok(Ok(())) | Err(_) => Ok(()),
        }
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if context
            .output_or_error()
            .is_some_and(|result| result.is_err())
        {
            let name = operation_name(cfg);
            let _ = CURRENT.try_with(|log| log.record_failure(name));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_get_list_and_describe_calls() {
        let counts = CallCounts(BTreeMap::from([
            ("kms:DescribeKey".to_string(), 2),
            ("kms:CreateKey".to_string(), 1),
            ("sqs:GetQueueUrl".to_string(), 2),
            ("sqs:ListQueueTags".to_string(), 1),
            ("sqs:SetQueueAttributes".to_string(), 1),
        ]));
        assert_eq!(counts.total(), 7);
        assert_eq!(counts.reads(), 5);
        assert_eq!(counts.writes(), 2);
        assert_eq!(
            counts.write_operations(),
            ["kms:CreateKey", "sqs:SetQueueAttributes"]
        );
    }

    #[test]
    fn a_limited_log_refuses_the_call_after_the_limit() {
        let log = CallLog::stopping_after(2);
        assert!(log.record("kms:DescribeKey".into()).is_ok());
        assert!(log.record("kms:CreateKey".into()).is_ok());
        let stop = log.record("kms:CreateAlias".into()).unwrap_err();
        assert_eq!(stop.operation, "kms:CreateAlias");
        assert_eq!(log.counts().total(), 2);
    }

    #[test]
    fn a_log_can_stop_right_after_one_operation() {
        let log = CallLog::stopping_after_operation("kms:CreateKey");
        assert!(log.record("kms:ListKeys".into()).is_ok());
        assert!(log.record("kms:CreateKey".into()).is_ok());
        assert!(log.record("kms:CreateAlias".into()).is_err());
        assert!(log.record("kms:EnableKeyRotation".into()).is_err());
        assert_eq!(log.counts().total(), 2);
    }

    #[test]
    fn a_requeued_call_is_one_call_that_did_not_fail() {
        let log = CallLog::default();
        assert!(log.record("kms:CreateKey".into()).is_ok());
        log.record_failure("kms:CreateKey".into());
        log.record_requeued("kms:CreateKey");
        assert!(log.record("kms:CreateKey".into()).is_ok());
        assert_eq!(log.counts().0.get("kms:CreateKey"), Some(&1));
        assert!(
            log.failures()
                .0
                .get("kms:CreateKey")
                .is_none_or(|n| *n == 0)
        );
    }

    #[test]
    fn refused_calls_are_not_failures_but_failed_calls_are() {
        let log = CallLog::stopping_after(1);
        assert!(log.record("kms:CreateKey".into()).is_ok());
        log.record_failure("kms:CreateKey".into());
        assert!(log.record("kms:CreateKey".into()).is_err());
        log.record_failure("kms:CreateKey".into());
        assert_eq!(log.failures().0.get("kms:CreateKey"), Some(&1));
    }
}
