//! `securequeue diff` (and `apply --dry-run`): reads AWS and prints, per SecureQueue, the
//! writes a pass would make, in order, each value it would change, and who would gain or lose
//! access; writes nothing. Exits 0 when nothing would change, 2 when something would, 1 on an
//! error (as `terraform plan -detailed-exitcode`), so a pipeline can gate a pull request on it.

use std::process::ExitCode;

use serde::Serialize;

use crate::aws::calls::CallLog;
use crate::aws::held::HeldWrite;
use crate::evaluate::access_diff::AccessChange;
use crate::reconcile::{Adoption, Report, StepReport};

use super::output::Format;
use super::pipeline::{ApplyArgs, prepare, print_steps};

/// What a pass would do to one SecureQueue's resources.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Diff {
    /// `<namespace>/<name>`.
    name: String,
    /// The writes, in the order the pass would send them.
    writes: Vec<HeldWrite>,
    /// Each value a write would change, by step and kind of correction.
    changes: Vec<Change>,
    /// Who would gain or lose which action on which resource.
    access: Vec<AccessChange>,
    /// What would be taken over although securequeue did not make it (`Adopt`).
    #[serde(skip_serializing_if = "Adoption::is_empty")]
    adoption: Adoption,
    /// The conditions the dry run ends with: a failure here fails the real pass too.
    conditions: Vec<StepReport>,
}

/// One changed value.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Change {
    step: &'static str,
    action: &'static str,
    #[serde(flatten)]
    difference: crate::reconcile::Difference,
}

impl Diff {
    fn of(report: Report) -> Self {
        let changes = report
            .corrections
            .iter()
            .flat_map(|c| {
                c.repair.differences.iter().map(|d| Change {
                    step: c.step,
                    action: c.repair.action,
                    difference: d.clone(),
                })
            })
            .collect();
        Self {
            name: report.name,
            writes: report.held_writes.unwrap_or_default(),
            changes,
            access: report.access_changes,
            adoption: report.adoption,
            conditions: report.conditions,
        }
    }

    /// Whether the dry run got through: every step would hold.
    fn succeeded(&self) -> bool {
        self.conditions.last().is_some_and(StepReport::holds)
    }

    fn print(&self) {
        if !self.succeeded() {
            print_steps(&self.name, &self.conditions);
            return;
        }
        println!("{}: {} writes", self.name, self.writes.len());
        for (i, write) in self.writes.iter().enumerate() {
            println!("  {:>3}. {write}", i + 1);
        }
        for change in &self.changes {
            println!(
                "  ~ {} {}: {}",
                change.step, change.action, change.difference
            );
        }
        for access in &self.access {
            println!("  access: {access}");
        }
        for resource in &self.adoption.resources {
            println!("  not made by securequeue: {resource}");
        }
        for key in &self.adoption.replaced_keys {
            println!("  keep enabled (it still decrypts messages in the queue): {key}");
        }
    }
}

pub(super) async fn run(args: ApplyArgs) -> ExitCode {
    let (reconciler, inputs) = match prepare(&args).await {
        Ok(ready) => ready,
        Err(_) => return ExitCode::FAILURE,
    };
    let mut diffs = Vec::new();
    for (_, queue) in &inputs.queues {
        let diff = Diff::of(reconciler.preview(queue, &CallLog::default()).await);
        if args.output == Format::Text {
            diff.print();
        }
        diffs.push(diff);
    }
    if let Some(document) = args.output.document(&diffs) {
        println!("{}", document.trim_end());
    }
    if !diffs.iter().all(Diff::succeeded) {
        ExitCode::FAILURE
    } else if diffs.iter().any(|d| !d.writes.is_empty()) {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
