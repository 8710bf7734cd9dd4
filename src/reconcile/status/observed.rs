//! What an observing pass (`spec.management: Observe`) concludes. It ran as a dry run, every
//! write held back; here each step's would-be writes become its drift, and the access the
//! policies in AWS grant beyond the spec (or withhold from it) becomes its findings. Ownership
//! tags are the operator's own bookkeeping, which it never writes to what it observes, so their
//! absence is no drift.

use crate::api::conditions::{READY, Reason};
use crate::evaluate::access_diff::Change;
use crate::reconcile::outcome::{Ended, Stepped};
use crate::reconcile::report::{Correction, Report, StepReport};
use crate::resolve::TAG_PREFIX;

/// How many differences and findings the status lists; the first ones, in step order.
const LISTED_MAX: usize = 100;

/// How many drifts or findings a condition's message names before it counts the rest.
const NAMED_MAX: usize = 3;

/// The report of an observing pass, from the report of its dry run (`dry_run`, its conditions
/// not yet set), its steps and their conditions as a converge would word them: nothing was
/// corrected, the corrections are `drift`, and the conditions say whether everything matches.
pub(super) fn report(dry_run: Report, steps: &[Stepped], conditions: Vec<StepReport>) -> Report {
    let mut report = dry_run;
    let drift: Vec<Correction> = std::mem::take(&mut report.corrections)
        .into_iter()
        .filter_map(without_ownership_tags)
        .collect();
    let mut observed: Vec<StepReport> = steps
        .iter()
        .zip(conditions)
        .map(|(step, condition)| observed_step(step, condition, &drift))
        .collect();
    let findings = findings(&report);
    observed.push(ready(&observed, &findings));
    report.learned.differences = drift
        .iter()
        .flat_map(|c| {
            c.repair
                .differences
                .iter()
                .map(move |d| format!("{}: {d}", c.step))
        })
        .take(LISTED_MAX)
        .collect();
    report.learned.findings = findings.into_iter().take(LISTED_MAX).collect();
    report.drift = drift;
    report.conditions = observed;
    report
}

/// The correction without differences in ownership tags; `None` if nothing else differs.
fn without_ownership_tags(mut correction: Correction) -> Option<Correction> {
    let differences = &mut correction.repair.differences;
    if differences.is_empty() {
        return Some(correction);
    }
    let ownership_tags = format!("Tags.{TAG_PREFIX}");
    differences.retain(|d| !d.path.starts_with(&ownership_tags));
    (!differences.is_empty()).then_some(correction)
}

/// One step as observed: a failure, or a step not attempted, as it is; a part that would be
/// created is missing; one with drift differs.
fn observed_step(step: &Stepped, condition: StepReport, drift: &[Correction]) -> StepReport {
    let Ended::Held(done) = &step.ended else {
        return condition;
    };
    let what = format!("the {}", step.part.noun());
    if done.created {
        return StepReport::failed(
            condition.condition,
            Reason::Drifted,
            format!("{what} does not exist (observed only: securequeue creates nothing)"),
        );
    }
    let notes: Vec<String> = drift
        .iter()
        .filter(|c| c.step == condition.condition)
        .flat_map(|c| c.repair.differences.iter().map(ToString::to_string))
        .collect();
    if notes.is_empty() {
        return StepReport::done(
            condition.condition,
            Reason::Converged,
            format!("{what} matches the spec (observed only)"),
        );
    }
    StepReport::failed(
        condition.condition,
        Reason::Drifted,
        format!("{what} differs from the spec: {}", named(&notes)),
    )
}

/// The access the policies in AWS give beyond the spec, and withhold from it: the access diff
/// from them to the generated ones read backwards, then the intent table's broken rows.
fn findings(report: &Report) -> Vec<String> {
    let changes = report.access_changes.iter().map(|c| {
        let (can, spec) = match c.change {
            Change::Loses => ("can", "the spec does not grant it"),
            Change::Gains => ("cannot", "the spec grants it"),
        };
        format!(
            "{} {can} {} on {} ({spec})",
            c.principal, c.action, c.resource
        )
    });
    changes
        .chain(report.access_findings.iter().map(|f| f.note.clone()))
        .collect()
}

/// `Ready`: True only when every step matches and nothing grants other access than the spec.
fn ready(steps: &[StepReport], findings: &[String]) -> StepReport {
    if !findings.is_empty() {
        return StepReport::failed(
            READY,
            Reason::AccessFindings,
            format!(
                "the policies in AWS give other access than the spec: {}",
                named(findings)
            ),
        );
    }
    match steps.iter().find(|s| !s.holds()) {
        Some(step) => StepReport::failed(
            READY,
            step.reason,
            format!("{}: {}", step.condition, step.message),
        ),
        None => StepReport::done(
            READY,
            Reason::Converged,
            "observed: the key, the dead-letter queue and the queue match the spec; securequeue writes nothing while spec.management is Observe".to_string(),
        ),
    }
}

/// The first few of `items`, and how many more.
fn named(items: &[String]) -> String {
    let mut shown = items[..items.len().min(NAMED_MAX)].join("; ");
    if items.len() > NAMED_MAX {
        shown.push_str(&format!("; and {} more", items.len() - NAMED_MAX));
    }
    shown
}
