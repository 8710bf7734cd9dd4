//! Counting AWS calls, one pass at a time, with an SDK interceptor.
//!
//! Every SDK client carries [`CallCounter`]. A pass runs inside [`CallLog::scope`], which puts
//! its log in a task-local, so concurrent passes sharing one client are counted apart. With the
//! `test-hooks` feature the same log can end a pass after a given number of calls, which is how
//! the tests kill a converge between any two calls (`call_limit`).

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

#[cfg(feature = "test-hooks")]
use super::call_limit::Limit;

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

pub(super) fn is_read(name: &str) -> bool {
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
    made: u64,
    #[cfg(feature = "test-hooks")]
    limit: Limit,
}

impl CallLog {
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
        #[cfg(feature = "test-hooks")]
        if state.limit.take_refusal(&name) {
            return;
        }
        *state.failed.0.entry(name).or_default() += 1;
    }

    /// Counts the call `name`, or refuses it if the pass is limited and at its limit.
    fn record(&self, name: String) -> Result<(), BoxError> {
        let mut state = self.inner.lock().expect("call log");
        #[cfg(feature = "test-hooks")]
        {
            let made = state.made;
            state.limit.admit(&name, made)?;
        }
        state.made += 1;
        *state.counts.0.entry(name).or_default() += 1;
        Ok(())
    }

    /// A log whose pass fails every call after the first `limit`, as if the process had died.
    #[cfg(feature = "test-hooks")]
    pub fn stopping_after(limit: u64) -> Self {
        Self::limited(Limit::after_calls(limit))
    }

    /// A log whose pass fails every call after the first `service:Operation` call.
    #[cfg(feature = "test-hooks")]
    pub fn stopping_after_operation(operation: &str) -> Self {
        Self::limited(Limit::after_operation(operation))
    }

    #[cfg(feature = "test-hooks")]
    fn limited(limit: Limit) -> Self {
        let state = LogState {
            limit,
            ..LogState::default()
        };
        Self {
            inner: Arc::new(Mutex::new(state)),
        }
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

pub(super) fn operation_name(cfg: &ConfigBag) -> String {
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
        CURRENT.try_with(|log| log.record(name)).unwrap_or(Ok(()))
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
}
