//! Ending a pass after a number of AWS calls, as if the process had died between two of them:
//! how the tests kill a converge or a deletion at every point. Built only with the `test-hooks`
//! feature, so the operator itself has no way to cut its own passes short. A pass's
//! [`super::calls::CallLog`] keeps its limit and asks it before counting each call.

use std::collections::BTreeMap;

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

/// A pass's limit; the default lets every call through.
#[derive(Debug, Default)]
pub(super) struct Limit {
    stop: Option<Stop>,
    stopped: bool,
    /// The calls refused, by `service:Operation`, not yet recorded as failures.
    refused: BTreeMap<String, u64>,
}

impl Limit {
    /// A limit that refuses every call after the first `calls`.
    pub(super) fn after_calls(calls: u64) -> Self {
        Self::stopping(Stop::AfterCalls(calls))
    }

    /// A limit that refuses every call after the first `service:Operation` call.
    pub(super) fn after_operation(operation: &str) -> Self {
        Self::stopping(Stop::AfterOperation(operation.to_string()))
    }

    fn stopping(stop: Stop) -> Self {
        Self {
            stop: Some(stop),
            ..Self::default()
        }
    }

    /// Lets the call `name` through, the pass having made `made` calls, or refuses it.
    pub(super) fn admit(&mut self, name: &str, made: u64) -> Result<(), CallLimitReached> {
        let exhausted = match &self.stop {
            Some(Stop::AfterCalls(limit)) => made >= *limit,
            _ => self.stopped,
        };
        if exhausted {
            *self.refused.entry(name.to_string()).or_default() += 1;
            return Err(CallLimitReached {
                operation: name.to_string(),
                made,
            });
        }
        if matches!(&self.stop, Some(Stop::AfterOperation(op)) if op == name) {
            self.stopped = true;
        }
        Ok(())
    }

    /// Whether the failure of `name` being recorded is one of this limit's refusals, which was
    /// never a call and so is no failure of AWS's; counts it off if so.
    pub(super) fn take_refusal(&mut self, name: &str) -> bool {
        match self.refused.get_mut(name).filter(|n| **n > 0) {
            Some(refused) => {
                *refused -= 1;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::error::caused_by;

    #[test]
    fn a_limited_pass_refuses_the_call_after_the_limit() {
        let mut limit = Limit::after_calls(2);
        assert!(limit.admit("kms:DescribeKey", 0).is_ok());
        assert!(limit.admit("kms:CreateKey", 1).is_ok());
        let stop = limit.admit("kms:CreateAlias", 2).unwrap_err();
        assert_eq!(stop.operation, "kms:CreateAlias");
        assert_eq!(stop.made, 2);
    }

    #[test]
    fn a_limited_pass_can_stop_right_after_one_operation() {
        let mut limit = Limit::after_operation("kms:CreateKey");
        assert!(limit.admit("kms:ListKeys", 0).is_ok());
        assert!(limit.admit("kms:CreateKey", 1).is_ok());
        assert!(limit.admit("kms:CreateAlias", 2).is_err());
        assert!(limit.admit("kms:EnableKeyRotation", 2).is_err());
    }

    #[test]
    fn only_refused_calls_are_taken_back_as_refusals() {
        let mut limit = Limit::after_calls(0);
        assert!(!limit.take_refusal("kms:CreateKey"));
        assert!(limit.admit("kms:CreateKey", 0).is_err());
        assert!(limit.take_refusal("kms:CreateKey"));
        assert!(!limit.take_refusal("kms:CreateKey"));
    }

    #[test]
    fn a_refusal_is_found_among_an_errors_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("dispatch failed")]
        struct Wrapper(#[source] CallLimitReached);
        let refusal = CallLimitReached {
            operation: "kms:CreateKey".into(),
            made: 1,
        };
        assert!(caused_by::<CallLimitReached>(&Wrapper(refusal)));
        assert!(!caused_by::<CallLimitReached>(&std::fmt::Error));
    }
}
