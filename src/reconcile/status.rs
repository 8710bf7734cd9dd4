//! From a pass's outcome to `status.conditions`: one condition per step, then `Ready`.
//!
//! A condition keeps its `lastTransitionTime` while its status stays the same, so a pass that
//! changes nothing writes an identical status.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use serde::Serialize;

use crate::api::SecureQueueStatus;
use crate::api::conditions::{self, reason};
use crate::aws::queued::Queued;

/// One condition's worth of outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepReport {
    /// The condition type.
    #[serde(rename = "type")]
    pub condition: &'static str,
    /// `True`, `False` or `Unknown`.
    pub status: &'static str,
    /// One CamelCase word.
    pub reason: &'static str,
    /// What happened and what to do.
    pub message: String,
}

impl StepReport {
    /// A step that holds.
    pub fn done(condition: &'static str, reason: &'static str, message: String) -> Self {
        Self {
            condition,
            status: "True",
            reason,
            message,
        }
    }

    /// A step that failed.
    pub fn failed(condition: &'static str, reason: &'static str, message: String) -> Self {
        Self {
            condition,
            status: "False",
            reason,
            message,
        }
    }

    /// A step not attempted because `cause` failed first.
    pub fn blocked(condition: &'static str, cause: &StepReport) -> Self {
        Self {
            condition,
            status: "Unknown",
            reason: reason::BLOCKED,
            message: format!(
                "not attempted: {} is {} ({})",
                cause.condition, cause.status, cause.reason
            ),
        }
    }

    /// Whether the condition holds.
    pub fn holds(&self) -> bool {
        self.status == "True"
    }
}

/// The `Ready` condition summarising the step conditions.
pub fn ready(steps: &[StepReport]) -> StepReport {
    if let Some(failed) = steps.iter().find(|s| !s.holds()) {
        let failed = steps.iter().find(|s| s.status == "False").unwrap_or(failed);
        return StepReport {
            condition: conditions::READY,
            status: "False",
            reason: failed.reason,
            message: format!("{}: {}", failed.condition, failed.message),
        };
    }
    let reason = [reason::DRIFT_CORRECTED, reason::CREATED]
        .into_iter()
        .find(|r| steps.iter().any(|s| s.reason == *r))
        .unwrap_or(reason::CONVERGED);
    StepReport::done(
        conditions::READY,
        reason,
        "the key, the dead-letter queue and the queue match the spec".to_string(),
    )
}

/// What a SecureQueue says while its pass waits for its turn at an operation's budget:
/// `Ready` False and `Reconciling` True, reason `WaitingForRequestQuota`, with its place in the
/// queue; every other condition and field stays as it was.
pub fn waiting_for_quota(
    previous: Option<&SecureQueueStatus>,
    queued: &Queued,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> SecureQueueStatus {
    let mut status = previous.cloned().unwrap_or_default();
    let message = format!(
        "queued behind {} other requests for {}: about {:.0} s at {} requests per second, the operator's share of AWS's request quota",
        queued.ahead,
        queued.operation,
        queued.expected_wait().as_secs_f64().max(1.0),
        queued.rate,
    );
    let reason = reason::WAITING_FOR_REQUEST_QUOTA;
    let reports = [
        StepReport::failed(conditions::READY, reason, message.clone()),
        StepReport {
            condition: conditions::RECONCILING,
            status: "True",
            reason,
            message,
        },
    ];
    let before = std::mem::take(&mut status.conditions);
    status.conditions = before
        .iter()
        .filter(|c| {
            ![
                conditions::READY,
                conditions::RECONCILING,
                conditions::STALLED,
            ]
            .contains(&c.type_.as_str())
        })
        .cloned()
        .collect();
    status
        .conditions
        .extend(to_conditions(&reports, generation, &before, now));
    status
}

/// Kubernetes conditions for the reports, keeping each one's transition time from `previous`
/// while its status is unchanged.
pub fn to_conditions(
    reports: &[StepReport],
    generation: Option<i64>,
    previous: &[Condition],
    now: jiff::Timestamp,
) -> Vec<Condition> {
    reports
        .iter()
        .map(|r| {
            let last_transition_time = previous
                .iter()
                .find(|c| c.type_ == r.condition && c.status == r.status)
                .map_or(Time(now), |c| c.last_transition_time.clone());
            Condition {
                type_: r.condition.to_string(),
                status: r.status.to_string(),
                reason: r.reason.to_string(),
                message: r.message.clone(),
                observed_generation: generation,
                last_transition_time,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::{DEAD_LETTER_QUEUE_READY, KEY_READY, QUEUE_READY};

    fn converged() -> Vec<StepReport> {
        [KEY_READY, DEAD_LETTER_QUEUE_READY, QUEUE_READY]
            .into_iter()
            .map(|c| StepReport::done(c, reason::CONVERGED, "ok".into()))
            .collect()
    }

    #[test]
    fn ready_holds_only_when_every_step_holds() {
        assert!(ready(&converged()).holds());
        assert_eq!(ready(&converged()).reason, reason::CONVERGED);
        let mut steps = converged();
        steps[1] = StepReport::failed(
            DEAD_LETTER_QUEUE_READY,
            reason::NAME_CONFLICT,
            "taken".into(),
        );
        steps[2] = StepReport::blocked(QUEUE_READY, &steps[1]);
        let summary = ready(&steps);
        assert_eq!(summary.status, "False");
        assert_eq!(summary.reason, reason::NAME_CONFLICT);
        assert!(summary.message.starts_with("DeadLetterQueueReady: taken"));
    }

    #[test]
    fn ready_says_what_the_pass_did() {
        let mut steps = converged();
        steps[0].reason = reason::CREATED;
        assert_eq!(ready(&steps).reason, reason::CREATED);
        steps[2].reason = reason::DRIFT_CORRECTED;
        assert_eq!(ready(&steps).reason, reason::DRIFT_CORRECTED);
    }

    #[test]
    fn transition_times_stay_while_the_status_stays() {
        let earlier = jiff::Timestamp::from_second(1_700_000_000).unwrap();
        let later = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let first = to_conditions(&converged(), Some(1), &[], earlier);
        let again = to_conditions(&converged(), Some(1), &first, later);
        assert_eq!(first, again);
        let mut steps = converged();
        steps[0] = StepReport::failed(KEY_READY, reason::ACCESS_DENIED, "denied".into());
        let changed = to_conditions(&steps, Some(2), &first, later);
        assert_eq!(changed[0].last_transition_time, Time(later));
        assert_eq!(changed[1].last_transition_time, Time(earlier));
        assert_eq!(changed[1].observed_generation, Some(2));
    }

    #[test]
    fn a_pass_waiting_for_quota_says_so_and_keeps_the_step_conditions() {
        let now = jiff::Timestamp::UNIX_EPOCH;
        let mut previous = SecureQueueStatus {
            conditions: to_conditions(&converged()[..1], Some(1), &[], now),
            ..Default::default()
        };
        previous.conditions.extend(to_conditions(
            &[StepReport::done(
                conditions::STALLED,
                reason::THROTTLED,
                "old".into(),
            )],
            Some(1),
            &[],
            now,
        ));
        let queued = Queued {
            operation: "kms:CreateKey".into(),
            ahead: 41,
            rate: 2.5,
        };
        let status = waiting_for_quota(Some(&previous), &queued, Some(2), now);
        let types: Vec<_> = status.conditions.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(
            types,
            [KEY_READY, conditions::READY, conditions::RECONCILING]
        );
        let ready = &status.conditions[1];
        assert_eq!(ready.status, "False");
        assert_eq!(ready.reason, reason::WAITING_FOR_REQUEST_QUOTA);
        assert_eq!(
            ready.message,
            "queued behind 41 other requests for kms:CreateKey: about 17 s at 2.5 requests per second, the operator's share of AWS's request quota"
        );
        assert_eq!(ready.observed_generation, Some(2));
    }
}
