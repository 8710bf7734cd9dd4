//! What a pass tells: the step conditions, the status fields it learned, the drift it put back
//! and the access drift it found, and its AWS calls. These are the values callers read; they
//! are made, and every condition worded, in [`super::status`] (which makes [`Report::refused`]
//! too).

use std::fmt;

use serde::Serialize;

use crate::api::SecureQueueStatus;
use crate::api::conditions::{ConditionStatus, Reason, Revisit};
use crate::aws::calls::CallCounts;
use crate::aws::held::HeldWrite;
use crate::evaluate::access_diff::AccessChange;
use crate::part::Part;

use super::diff::Difference;

/// One condition's worth of outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepReport {
    /// The condition type.
    #[serde(rename = "type")]
    pub condition: &'static str,
    /// Whether it holds.
    pub status: ConditionStatus,
    /// Why, in one word.
    pub reason: Reason,
    /// What happened and what to do.
    pub message: String,
}

impl StepReport {
    /// A step that holds.
    pub fn done(condition: &'static str, reason: Reason, message: String) -> Self {
        Self {
            condition,
            status: ConditionStatus::True,
            reason,
            message,
        }
    }

    /// A step that failed.
    pub fn failed(condition: &'static str, reason: Reason, message: String) -> Self {
        Self {
            condition,
            status: ConditionStatus::False,
            reason,
            message,
        }
    }

    /// Whether the condition holds.
    pub fn holds(&self) -> bool {
        self.status == ConditionStatus::True
    }

    /// Whether the step failed (rather than holding or not being attempted).
    pub fn failed_here(&self) -> bool {
        self.status == ConditionStatus::False
    }
}

/// Each part's step among `conditions`, with its part.
fn parts(conditions: &[StepReport]) -> impl Iterator<Item = (Part, &StepReport)> {
    conditions
        .iter()
        .filter_map(|step| Some((Part::of_condition(step.condition)?, step)))
}

/// What one converge pass found and did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `<namespace>/<name>`.
    pub name: String,
    /// `KeyReady`, `DeadLetterQueueReady`, `QueueReady`, then `Ready`.
    pub conditions: Vec<StepReport>,
    /// The status fields this pass learned (ARNs, URLs, identity, estimates); the ones it
    /// could not learn are `None`, and the status keeps its earlier values of them.
    #[serde(flatten)]
    pub learned: SecureQueueStatus,
    /// The rows of the intent table the generated policies passed, before any AWS call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policies_verified: Option<usize>,
    /// Rows of the intent table that the policies read back from AWS broke: drift that opened
    /// (or closed) access, found before this pass corrected it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_findings: Vec<Finding>,
    /// Who gains and who loses access when this pass replaces the policies in AWS with the
    /// generated ones: empty when they already match.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_changes: Vec<AccessChange>,
    /// What this pass uses although it is not its own (`Adopt`, `Observe`).
    #[serde(skip_serializing_if = "Adoption::is_empty")]
    pub adoption: Adoption,
    /// Drift found and corrected in this pass.
    pub corrections: Vec<Correction>,
    /// Drift found and left as it is (`Observe`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<Correction>,
    /// The writes held back, in order, when the pass was a dry run; `None` when it wrote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_writes: Option<Vec<HeldWrite>>,
    /// The AWS calls of this pass.
    pub calls: CallCounts,
}

impl Report {
    /// Each part's step, with its part, in converge order.
    pub fn parts(&self) -> impl Iterator<Item = (Part, &StepReport)> {
        parts(&self.conditions)
    }

    /// Whether the `Ready` condition holds.
    pub fn is_ready(&self) -> bool {
        self.conditions.last().is_some_and(StepReport::holds)
    }

    /// The `Ready` condition.
    pub fn ready(&self) -> Option<&StepReport> {
        self.conditions.last()
    }

    /// Whether a person must change something before a pass can succeed (kstatus `Stalled`):
    /// a step failed for a reason only a person can remove.
    pub fn needs_a_person(&self) -> bool {
        self.conditions
            .iter()
            .any(|c| c.failed_here() && c.reason.needs_a_person())
    }

    /// When the SecureQueue is looked at again: at the resync once Ready; if a failed step
    /// needs a person, when the spec changes (a spec problem) or at the resync (anything fixed
    /// outside Kubernetes); otherwise with backoff.
    pub fn revisit(&self) -> Revisit {
        let Some(ready) = self.ready() else {
            return Revisit::WithBackoff;
        };
        if ready.holds() {
            Revisit::AtResync
        } else if !self.needs_a_person() {
            Revisit::WithBackoff
        } else if ready.reason.revisit() == Revisit::WhenTheSpecChanges {
            Revisit::WhenTheSpecChanges
        } else {
            Revisit::AtResync
        }
    }
}

/// What one deletion pass did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deletion {
    /// `<namespace>/<name>`.
    pub name: String,
    /// The queue, the dead-letter queue and the key, in deletion order.
    pub steps: Vec<StepReport>,
    /// The AWS calls of this pass.
    pub calls: CallCounts,
}

impl Deletion {
    /// Each part's step, with its part, in deletion order.
    pub fn parts(&self) -> impl Iterator<Item = (Part, &StepReport)> {
        parts(&self.steps)
    }

    /// Whether nothing is left to do: everything deleted, or retained by policy.
    pub fn finished(&self) -> bool {
        self.steps.iter().all(StepReport::holds)
    }

    /// The first step that did not finish.
    pub fn failure(&self) -> Option<&StepReport> {
        self.steps.iter().find(|s| !s.holds())
    }
}

/// The resources a pass uses although they carry no ownership tags of its SecureQueue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Adoption {
    /// Their ARNs.
    pub resources: Vec<String>,
    /// `<queue ARN>: <key>` for each queue whose encryption key the plan replaces; the old key
    /// must stay enabled while messages it encrypted remain.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replaced_keys: Vec<String>,
}

impl Adoption {
    /// Whether nothing is adopted.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }
}

/// One kind of drift a step put back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Repair {
    /// A fixed verb naming the kind of correction, such as `RestoreKeyPolicy`: the Event's
    /// action, so repeats of one kind fold into one series.
    pub action: &'static str,
    /// What was found and done, for people.
    pub note: String,
    /// Each value put back: where, what AWS had, what the spec asks for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Difference>,
}

impl Repair {
    /// A repair of kind `action`.
    pub(super) fn new(action: &'static str, note: impl Into<String>) -> Self {
        Self {
            action,
            note: note.into(),
            differences: Vec::new(),
        }
    }

    /// The repair, putting back these values.
    pub(super) fn of(mut self, differences: Vec<Difference>) -> Self {
        self.differences = differences;
        self
    }

    /// One value put back at `path`.
    pub(super) fn of_value(self, path: &str, old: impl Serialize, new: impl Serialize) -> Self {
        self.of(vec![Difference {
            path: path.to_string(),
            old: present(old),
            new: present(new),
        }])
    }
}

/// A value as JSON, `None` for none (`()`, `None`).
fn present(value: impl Serialize) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok().filter(|v| !v.is_null())
}

/// Drift found and put back by one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Correction {
    /// The condition of the step that made it.
    pub step: &'static str,
    /// What was put back.
    #[serde(flatten)]
    pub repair: Repair,
}

impl fmt::Display for Correction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.step, self.repair.note)
    }
}

/// A row of the intent table that a policy read back from AWS broke.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The part whose policy it is.
    pub target: Part,
    /// Which row it broke and how, for people.
    pub note: String,
}

impl Finding {
    /// A fixed verb naming the policy checked: the Event's action.
    pub fn action(&self) -> &'static str {
        self.target.verified_action()
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.note)
    }
}
