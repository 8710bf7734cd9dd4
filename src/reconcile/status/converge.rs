//! A converge pass's report: each part's condition in words, `Ready` summing them up, the status
//! fields the pass learned, and what it found and corrected. [`report`] is the one place where
//! a pass's outcome becomes its report; an observing pass's words are [`super::observed`]'s.

use crate::api::SecureQueueStatus;
use crate::api::conditions::{READY, Reason};
use crate::aws::calls::CallCounts;
use crate::part::Part;
use crate::reconcile::outcome::{Done, Ended, KeptRegion, Mode, Outcome, Passed, Stepped};
use crate::reconcile::report::{Adoption, Correction, Report, StepReport};

use super::{blocked_after, conditions, newer, observed};

/// The report of a converge pass that came to `outcome`.
pub(in crate::reconcile) fn report(outcome: Outcome) -> Report {
    let Outcome { name, mode, end } = outcome;
    let passed = match end {
        Ok(passed) => passed,
        Err(refused) => return Report::refused(name, refused.reason, refused.message),
    };
    let steps = &passed.converged.steps;
    let parts: Vec<_> = steps.iter().map(|s| (s.part, &s.ended)).collect();
    let conditions = conditions(&parts, done);
    let learned = learned(&passed, mode.dry_run());
    let corrections = corrections(steps);
    let Passed {
        rows,
        kept_region,
        converged,
        held_writes,
        calls,
        ..
    } = passed;
    let read = converged.read.unwrap_or_default();
    let told = Report {
        learned,
        policies_verified: Some(rows),
        access_findings: read.findings,
        access_changes: read.changes,
        adoption: read.adoption,
        corrections,
        held_writes,
        calls,
        ..empty(name)
    };
    match mode {
        Mode::Observe => observed::report(told, &converged.steps, conditions),
        Mode::Converge | Mode::Preview => Report {
            conditions: with_ready(conditions, kept_region.as_ref()),
            ..told
        },
    }
}

impl Report {
    /// A report for a SecureQueue refused before any AWS call: `KeyReady` and `Ready` carry
    /// `why` and `message`, the other steps are blocked.
    pub fn refused(name: String, why: Reason, message: String) -> Self {
        let first = StepReport::failed(Part::Key.condition(), why, message);
        Report {
            conditions: with_ready(blocked_after(first, &Part::ALL[1..]), None),
            ..empty(name)
        }
    }
}

/// A report of `name` that tells nothing yet.
fn empty(name: String) -> Report {
    Report {
        name,
        conditions: Vec::new(),
        learned: SecureQueueStatus::default(),
        policies_verified: None,
        access_findings: Vec::new(),
        access_changes: Vec::new(),
        adoption: Adoption::default(),
        corrections: Vec::new(),
        drift: Vec::new(),
        held_writes: None,
        calls: CallCounts::default(),
    }
}

/// The condition of `part`'s step that held: what it created, adopted or put back; a
/// dead-letter queue that matches the spec but holds messages says so.
fn done(part: Part, done: &Done) -> StepReport {
    let (what, id) = (part.noun(), &done.id);
    let notes = || {
        let notes: Vec<&str> = done.corrections.iter().map(|r| r.note.as_str()).collect();
        notes.join("; ")
    };
    let (reason, message) = if done.adopted && !done.corrections.is_empty() {
        (
            Reason::Adopted,
            format!("adopted the {what} {id}: {}", notes()),
        )
    } else if done.created {
        (Reason::Created, format!("created the {what} {id}"))
    } else if !done.corrections.is_empty() {
        (
            Reason::DriftCorrected,
            format!("the {what} {id} had drifted: {}", notes()),
        )
    } else if let (Part::DeadLetterQueue, Some(waiting @ 1..)) = (part, done.waiting) {
        (
            Reason::MessagesInDeadLetterQueue,
            format!(
                "{waiting} messages wait in the dead-letter queue {id}: consumers are failing to process them"
            ),
        )
    } else {
        (
            Reason::Converged,
            format!("the {what} {id} matches the spec"),
        )
    };
    StepReport::done(part.condition(), reason, message)
}

/// The drift each step put back, named by its condition.
fn corrections(steps: &[Stepped]) -> Vec<Correction> {
    steps
        .iter()
        .filter_map(|step| match &step.ended {
            Ended::Held(done) => Some((step.part, done)),
            Ended::Failed(_) | Ended::Blocked => None,
        })
        .flat_map(|(part, done)| {
            done.corrections.iter().map(move |repair| Correction {
                step: part.condition(),
                repair: repair.clone(),
            })
        })
        .collect()
}

/// The status fields the pass learned: the key's estimate, where the resources are, and each
/// step's. A dry run forgets what it only would have made: those ARNs, URLs and ids name
/// nothing in AWS.
fn learned(passed: &Passed, dry_run: bool) -> SecureQueueStatus {
    let looked = SecureQueueStatus {
        kms_estimated_requests_per_30_days: Some(passed.kms_estimate),
        identity: passed.converged.found.clone(),
        ..SecureQueueStatus::default()
    };
    let steps = &passed.converged.steps;
    let learned = steps
        .iter()
        .fold(looked, |learned, step| newer(learned, step.learned.clone()));
    if dry_run {
        without_made(learned, steps)
    } else {
        learned
    }
}

/// `learned` without what it says of the parts the steps would have created.
fn without_made(mut learned: SecureQueueStatus, steps: &[Stepped]) -> SecureQueueStatus {
    let made = |part: Part| {
        steps
            .iter()
            .any(|s| s.part == part && matches!(&s.ended, Ended::Held(done) if done.created))
    };
    let [key, dead_letter_queue, queue] = Part::ALL.map(made);
    if key {
        learned.key_arn = None;
        if let Some(identity) = learned.identity.as_mut() {
            identity.key_id = None;
        }
    }
    if dead_letter_queue {
        learned.dead_letter_queue_arn = None;
        learned.dead_letter_queue_url = None;
        learned.dead_letter_queue_messages = None;
    }
    if queue {
        learned.queue_arn = None;
        learned.queue_url = None;
    }
    if key && dead_letter_queue && queue {
        learned.identity = None;
    }
    learned
}

/// The step conditions, then `Ready` summing them up, with a note when the resources stay in a
/// region the operator's is no longer.
fn with_ready(mut steps: Vec<StepReport>, kept: Option<&KeptRegion>) -> Vec<StepReport> {
    let mut ready = ready(&steps);
    if let Some(kept) = kept {
        ready.message.push_str(&kept_region(kept));
    }
    steps.push(ready);
    steps
}

/// The `Ready` condition summing up the step conditions.
fn ready(steps: &[StepReport]) -> StepReport {
    if let Some(failed) = steps.iter().find(|s| !s.holds()) {
        let failed = steps.iter().find(|s| s.failed_here()).unwrap_or(failed);
        return StepReport::failed(
            READY,
            failed.reason,
            format!("{}: {}", failed.condition, failed.message),
        );
    }
    let reason = [Reason::Adopted, Reason::DriftCorrected, Reason::Created]
        .into_iter()
        .find(|r| steps.iter().any(|s| s.reason == *r))
        .unwrap_or(Reason::Converged);
    StepReport::done(
        READY,
        reason,
        "the key, the dead-letter queue and the queue match the spec".to_string(),
    )
}

/// The note `Ready` carries when the resources stay in their recorded region.
fn kept_region(kept: &KeptRegion) -> String {
    let KeptRegion { region, operator } = kept;
    format!(
        " (in {region}, where status.identity records them: the operator's region is now {operator}, and a SecureQueue without spec.region stays where it was made; set spec.region: {region} to say so in the spec)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::ConditionStatus;
    use crate::reconcile::status::tests::converged;
    use crate::reconcile::status::{blocked, of_pass};

    #[test]
    fn ready_holds_only_when_every_step_holds() {
        assert!(ready(&converged()).holds());
        assert_eq!(ready(&converged()).reason, Reason::Converged);
        let mut steps = converged();
        steps[1] = StepReport::failed(
            Part::DeadLetterQueue.condition(),
            Reason::NameConflict,
            "taken".into(),
        );
        steps[2] = blocked(Part::Queue, &steps[1]);
        let summary = ready(&steps);
        assert_eq!(summary.status, ConditionStatus::False);
        assert_eq!(summary.reason, Reason::NameConflict);
        assert!(summary.message.starts_with("DeadLetterQueueReady: taken"));
    }

    #[test]
    fn ready_says_what_the_pass_did() {
        let mut steps = converged();
        steps[0].reason = Reason::Created;
        assert_eq!(ready(&steps).reason, Reason::Created);
        steps[2].reason = Reason::DriftCorrected;
        assert_eq!(ready(&steps).reason, Reason::DriftCorrected);
    }

    fn passed(steps: Vec<Stepped>, kept_region: Option<KeptRegion>) -> Passed {
        Passed {
            rows: 7,
            kms_estimate: 1,
            kept_region,
            converged: crate::reconcile::outcome::Converged {
                found: None,
                read: None,
                steps,
            },
            held_writes: None,
            calls: CallCounts::default(),
        }
    }

    fn told(mode: Mode, passed: Passed) -> Report {
        report(Outcome {
            name: "ns/q".into(),
            mode,
            end: Ok(passed),
        })
    }

    #[test]
    fn an_unreadable_part_blocks_the_parts_read_before_it_too() {
        let taken = crate::reconcile::StepError::NameConflict("taken".into());
        let steps = vec![
            Stepped::blocked(Part::Key),
            Stepped::failed(Part::DeadLetterQueue, taken),
            Stepped::blocked(Part::Queue),
        ];
        let report = told(Mode::Converge, passed(steps, None));
        let shown: Vec<_> = report
            .conditions
            .iter()
            .map(|c| (c.condition, c.reason, c.message.as_str()))
            .collect();
        let blocked = "not attempted: DeadLetterQueueReady is False (NameConflict)";
        assert_eq!(
            shown,
            [
                ("KeyReady", Reason::Blocked, blocked),
                ("DeadLetterQueueReady", Reason::NameConflict, "taken"),
                ("QueueReady", Reason::Blocked, blocked),
                ("Ready", Reason::NameConflict, "DeadLetterQueueReady: taken"),
            ]
        );
        assert_eq!(report.policies_verified, Some(7));
    }

    #[test]
    fn ready_notes_a_kept_region_unless_the_pass_only_observes() {
        let kept = KeptRegion {
            region: "eu-west-1".into(),
            operator: "us-east-1".into(),
        };
        let failing = || {
            let denied = crate::reconcile::StepError::KeyUnusable("disabled".into());
            let mut steps = vec![Stepped::failed(Part::Key, denied)];
            steps.extend([Part::DeadLetterQueue, Part::Queue].map(Stepped::blocked));
            passed(steps, Some(kept.clone()))
        };
        let converged = told(Mode::Converge, failing());
        let ready = converged.ready().unwrap();
        assert!(
            ready
                .message
                .starts_with("KeyReady: disabled (in eu-west-1, where status.identity records them: the operator's region is now us-east-1"),
            "{ready:?}"
        );
        let observed = told(Mode::Observe, failing());
        assert_eq!(observed.ready().unwrap().message, "KeyReady: disabled");
    }

    #[test]
    fn a_failed_pass_keeps_what_earlier_passes_learned() {
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let converged = Report {
            conditions: with_ready(converged(), None),
            learned: SecureQueueStatus {
                key_arn: Some("arn:aws:kms:us-east-1:111122223333:key/k".into()),
                queue_name: Some("q".into()),
                ..SecureQueueStatus::default()
            },
            ..empty("ns/q".into())
        };
        let before = of_pass(&converged, Some(3), None, now);
        assert_eq!(
            before.key_arn.as_deref(),
            Some("arn:aws:kms:us-east-1:111122223333:key/k")
        );
        let refused = Report::refused("ns/q".into(), Reason::InvalidSpec, "bad".into());
        let after = of_pass(&refused, Some(4), Some(&before), now);
        assert_eq!(after.observed_generation, Some(4));
        assert_eq!(after.key_arn, before.key_arn);
        assert_eq!(after.queue_name.as_deref(), Some("q"));
        let ready = after
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "InvalidSpec")
        );
    }

    #[test]
    fn a_refused_spec_names_the_first_step_and_blocks_the_rest() {
        let refused = Report::refused("ns/q".into(), Reason::ImmutableFieldChanged, "x".into());
        let reasons: Vec<_> = refused.conditions.iter().map(|c| c.reason).collect();
        assert_eq!(
            reasons,
            [
                Reason::ImmutableFieldChanged,
                Reason::Blocked,
                Reason::Blocked,
                Reason::ImmutableFieldChanged
            ]
        );
        assert!(refused.needs_a_person() && !refused.is_ready());
        assert_eq!(
            refused.revisit(),
            crate::api::conditions::Revisit::WhenTheSpecChanges
        );
    }
}
