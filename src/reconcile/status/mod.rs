//! The one owner of a SecureQueue's status: every condition and field the operator writes is
//! worded and built here, from what a pass came to (`outcome.rs`):
//! - `status/converge.rs`: a converge pass's [`Report`], each step's condition and `Ready` (an
//!   observing pass's in `status/observed.rs`);
//! - `status/deletion.rs`: a deletion pass's [`Deletion`](super::Deletion);
//! - this module: the status a converge pass's report leads to ([`of_pass`]), a deletion's
//!   failure, a pass waiting for its turn at a request budget, an adoption's record.
//!
//! A condition keeps its `lastTransitionTime` while its status stays the same, so a pass that
//! changes nothing writes an identical status.

pub(super) mod converge;
pub(super) mod deletion;
mod observed;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::api::conditions::{self, ConditionStatus, Reason};
use crate::api::{AdoptionRecord, SecureQueueStatus};
use crate::aws::queued::Queued;
use crate::evaluate::access_diff::Change;
use crate::part::Part;

use super::error::StepError;
use super::outcome::Ended;
use super::report::{Report, StepReport};

/// The condition of `part`'s step, not attempted because `cause` failed first.
fn blocked(part: Part, cause: &StepReport) -> StepReport {
    StepReport {
        condition: part.condition(),
        status: ConditionStatus::Unknown,
        reason: Reason::Blocked,
        message: format!(
            "not attempted: {} is {} ({})",
            cause.condition,
            cause.status.as_str(),
            cause.reason
        ),
    }
}

/// `failed`, then the conditions of the parts `rest`, each blocked by it.
fn blocked_after(failed: StepReport, rest: &[Part]) -> Vec<StepReport> {
    let blocked = rest.iter().map(|part| blocked(*part, &failed));
    std::iter::once(failed.clone()).chain(blocked).collect()
}

/// Each part's condition, in the order of `steps`: what a step that held did, in the words of
/// `held`; a failure as its error says; a step not started (or, after a failed lookup, a part
/// read but not written) blocked by the first failure.
fn conditions<'a, T: 'a>(
    steps: &[(Part, &'a Ended<T>)],
    held: impl Fn(Part, &T) -> StepReport,
) -> Vec<StepReport> {
    let failed = |part: Part, error: &StepError| {
        StepReport::failed(part.condition(), error.reason(), error.message())
    };
    let first_failure = steps.iter().find_map(|(part, ended)| match ended {
        Ended::Failed(error) => Some(failed(*part, error)),
        Ended::Held(_) | Ended::Blocked => None,
    });
    steps
        .iter()
        .map(|(part, ended)| match ended {
            Ended::Held(done) => held(*part, done),
            Ended::Failed(error) => failed(*part, error),
            Ended::Blocked => blocked(
                *part,
                first_failure
                    .as_ref()
                    .expect("a step is blocked only where another failed"),
            ),
        })
        .collect()
}

/// The SecureQueue status a converge pass leads to: `PoliciesVerified`, the step conditions,
/// `Ready`, and the kstatus conditions (`Reconciling` while a transient failure is retried,
/// `Stalled` when a person must act; neither once Ready). Values this pass could not learn are
/// kept from `previous`, so a failed pass does not blank the ARNs.
pub fn of_pass(
    report: &Report,
    generation: Option<i64>,
    previous: Option<&SecureQueueStatus>,
    now: jiff::Timestamp,
) -> SecureQueueStatus {
    let previous = previous.cloned().unwrap_or_default();
    let mut reports = vec![policies_verified(report)];
    reports.extend(report.conditions.iter().cloned());
    if let Some(ready) = report.ready().filter(|r| !r.holds()) {
        let kind = if report.needs_a_person() {
            conditions::STALLED
        } else {
            conditions::RECONCILING
        };
        reports.push(StepReport::done(kind, ready.reason, ready.message.clone()));
    }
    SecureQueueStatus {
        observed_generation: generation,
        conditions: to_conditions(&reports, generation, &previous.conditions, now),
        // What this pass observed, not kept from an earlier one.
        differences: report.learned.differences.clone(),
        findings: report.learned.findings.clone(),
        ..newer(previous, report.learned.clone())
    }
}

/// `PoliciesVerified`: the rows of the intent table the generated policies passed, or why
/// they were not checked.
fn policies_verified(report: &Report) -> StepReport {
    let condition = conditions::POLICIES_VERIFIED;
    match (report.policies_verified, report.ready()) {
        (Some(rows), _) => StepReport::done(
            condition,
            Reason::Verified,
            format!("all {rows} checks of the intent table hold (securequeue verify)"),
        ),
        (None, Some(ready)) if ready.reason == Reason::PolicyVerificationFailed => {
            StepReport::failed(condition, ready.reason, ready.message.clone())
        }
        (None, _) => StepReport {
            condition,
            status: ConditionStatus::Unknown,
            reason: Reason::Blocked,
            message: "the policies were not checked: the spec was refused first".to_string(),
        },
    }
}

/// `earlier` with every field `later` learned: the ARNs, URLs, estimate and identity of
/// `later` where it has them, else `earlier`'s; the conditions and generation stay `earlier`'s.
fn newer(earlier: SecureQueueStatus, later: SecureQueueStatus) -> SecureQueueStatus {
    SecureQueueStatus {
        key_arn: later.key_arn.or(earlier.key_arn),
        dead_letter_queue_arn: later
            .dead_letter_queue_arn
            .or(earlier.dead_letter_queue_arn),
        dead_letter_queue_url: later
            .dead_letter_queue_url
            .or(earlier.dead_letter_queue_url),
        dead_letter_queue_messages: later
            .dead_letter_queue_messages
            .or(earlier.dead_letter_queue_messages),
        queue_name: later.queue_name.or(earlier.queue_name),
        queue_arn: later.queue_arn.or(earlier.queue_arn),
        queue_url: later.queue_url.or(earlier.queue_url),
        kms_estimated_requests_per_30_days: later
            .kms_estimated_requests_per_30_days
            .or(earlier.kms_estimated_requests_per_30_days),
        identity: later.identity.or(earlier.identity),
        adoption: later.adoption.or(earlier.adoption),
        // The ledger's own: passes write it through their store, never through a status.
        key_creation: earlier.key_creation,
        differences: later.differences,
        findings: later.findings,
        observed_generation: earlier.observed_generation,
        conditions: earlier.conditions,
    }
}

/// At most this many entries of each access list go into `status.adoption`; the Event and
/// `securequeue diff` show them all.
const ADOPTION_LIST_MAX: usize = 50;

/// The adoption record of a dry run's report: what it would take over and who would lose and
/// gain access; `None` when it takes over nothing.
pub fn adoption_record(report: &Report, now: jiff::Timestamp) -> Option<AdoptionRecord> {
    if report.adoption.is_empty() {
        return None;
    }
    let listed = |change: Change| {
        let all: Vec<String> = report
            .access_changes
            .iter()
            .filter(|c| c.change == change)
            .map(ToString::to_string)
            .collect();
        let more = all.len().saturating_sub(ADOPTION_LIST_MAX);
        let mut kept: Vec<String> = all.into_iter().take(ADOPTION_LIST_MAX).collect();
        if more > 0 {
            kept.push(format!("and {more} more (securequeue diff lists them all)"));
        }
        kept
    };
    Some(AdoptionRecord {
        recorded_at: now.to_string(),
        resources: report.adoption.resources.clone(),
        access_lost: listed(Change::Loses),
        access_gained: listed(Change::Gains),
        previous_keys: report.adoption.replaced_keys.clone(),
    })
}

/// The Warning Event's (and `apply`'s warning's) note of an adoption: what is taken over and who loses access.
pub fn adoption_note(record: &AdoptionRecord) -> String {
    let lost = if record.access_lost.is_empty() {
        "nobody loses access".to_string()
    } else {
        format!("losing access: {}", record.access_lost.join("; "))
    };
    let mut note = format!("adopting {}; {lost}", record.resources.join(", "));
    if !record.previous_keys.is_empty() {
        note.push_str(&format!(
            "; keep these keys enabled until the messages they encrypted are gone: {}",
            record.previous_keys.join(", ")
        ));
    }
    note
}

/// `previous` with `record` as its adoption: written before the adoption's first write.
pub fn with_adoption(
    previous: Option<&SecureQueueStatus>,
    record: AdoptionRecord,
) -> SecureQueueStatus {
    SecureQueueStatus {
        adoption: Some(record),
        ..previous.cloned().unwrap_or_default()
    }
}

/// What a SecureQueue says while its deletion cannot finish: `Ready` False with the failed
/// step's reason, every other condition and field as it was.
pub fn deleting(
    previous: Option<&SecureQueueStatus>,
    failure: &StepReport,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> SecureQueueStatus {
    let summary = StepReport::failed(
        conditions::READY,
        failure.reason,
        format!("deleting: {}: {}", failure.condition, failure.message),
    );
    replacing(previous, &[summary], &[conditions::READY], generation, now)
}

/// `previous` with the conditions of the types in `dropped` replaced by `reports`.
fn replacing(
    previous: Option<&SecureQueueStatus>,
    reports: &[StepReport],
    dropped: &[&str],
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> SecureQueueStatus {
    let mut status = previous.cloned().unwrap_or_default();
    let before = std::mem::take(&mut status.conditions);
    status.conditions = before
        .iter()
        .filter(|c| !dropped.contains(&c.type_.as_str()))
        .cloned()
        .collect();
    status
        .conditions
        .extend(to_conditions(reports, generation, &before, now));
    status
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
    let message = format!(
        "queued behind {} other requests for {}: about {:.0} s at {} requests per second, the operator's share of AWS's request quota",
        queued.ahead,
        queued.operation,
        queued.expected_wait().as_secs_f64().max(1.0),
        queued.rate,
    );
    let reason = Reason::WaitingForRequestQuota;
    let reports = [
        StepReport::failed(conditions::READY, reason, message.clone()),
        StepReport::done(conditions::RECONCILING, reason, message),
    ];
    let dropped = [
        conditions::READY,
        conditions::RECONCILING,
        conditions::STALLED,
    ];
    replacing(previous, &reports, &dropped, generation, now)
}

/// Kubernetes conditions for the reports, keeping each one's transition time from `previous`
/// while its status is unchanged.
fn to_conditions(
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
                .find(|c| c.type_ == r.condition && c.status == r.status.as_str())
                .map_or(Time(now), |c| c.last_transition_time.clone());
            Condition {
                type_: r.condition.to_string(),
                status: r.status.as_str().to_string(),
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
    use crate::api::conditions::KEY_READY;

    /// The three step conditions of a converged pass, for this module's tests and its children's.
    pub(super) fn converged() -> Vec<StepReport> {
        Part::ALL
            .map(|part| StepReport::done(part.condition(), Reason::Converged, "ok".into()))
            .to_vec()
    }

    #[test]
    fn transition_times_stay_while_the_status_stays() {
        let earlier = jiff::Timestamp::from_second(1_700_000_000).unwrap();
        let later = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let first = to_conditions(&converged(), Some(1), &[], earlier);
        let again = to_conditions(&converged(), Some(1), &first, later);
        assert_eq!(first, again);
        let mut steps = converged();
        steps[0] = StepReport::failed(KEY_READY, Reason::AccessDenied, "denied".into());
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
                Reason::Throttled,
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
        assert_eq!(ready.reason, Reason::WaitingForRequestQuota.as_str());
        assert_eq!(
            ready.message,
            "queued behind 41 other requests for kms:CreateKey: about 17 s at 2.5 requests per second, the operator's share of AWS's request quota"
        );
        assert_eq!(ready.observed_generation, Some(2));
    }
}
