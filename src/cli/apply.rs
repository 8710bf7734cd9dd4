//! `securequeue apply` and `securequeue delete`: converge or delete manifests once, without
//! Kubernetes, for pipelines and demos.

use std::process::ExitCode;

use clap::Args;

use crate::api::SecureQueue;
use crate::aws::calls::{CallCounts, CallLog};
use crate::reconcile::{Reconciler, Report, status};

use super::output::Format;
use super::pipeline::{ApplyArgs, prepare, print_steps};

/// `apply`'s arguments: the shared ones, and whether to write at all.
#[derive(Args, Debug)]
pub(super) struct ApplyCommand {
    #[command(flatten)]
    args: ApplyArgs,

    /// Write nothing: print the writes a pass would make, what each changes and who gains or
    /// loses access, and exit 0 (no change), 2 (changes) or 1 (error); the same as `diff`.
    #[arg(long)]
    dry_run: bool,
}

pub(super) async fn apply(command: ApplyCommand) -> ExitCode {
    if command.dry_run {
        return super::diff::run(command.args).await;
    }
    let args = command.args;
    let (reconciler, inputs) = match prepare(&args).await {
        Ok(ready) => ready,
        Err(code) => return code,
    };
    let mut reports = Vec::new();
    for (_, queue) in &inputs.queues {
        let report = converge_adopting(&reconciler, queue).await;
        if args.output == Format::Text {
            print_steps(&report.name, &report.conditions);
            for (label, value) in [
                ("key", report.learned.key_arn.clone()),
                (
                    "dead-letter queue",
                    report.learned.dead_letter_queue_arn.clone().map(|arn| {
                        format!(
                            "{arn} {}",
                            report
                                .learned
                                .dead_letter_queue_url
                                .clone()
                                .unwrap_or_default()
                        )
                    }),
                ),
                (
                    "queue",
                    report.learned.queue_arn.clone().map(|arn| {
                        format!(
                            "{arn} {}",
                            report.learned.queue_url.clone().unwrap_or_default()
                        )
                    }),
                ),
            ] {
                if let Some(value) = value {
                    println!("  {label:<18} {value}");
                }
            }
            for finding in &report.access_findings {
                println!("  access drift found: {finding}");
            }
            print_calls(&report.calls);
        }
        reports.push(report);
    }
    print_structured(args.output, &reports);
    if reports.iter().all(|r| r.is_ready()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Converges `queue`; when an adoption waits for its record, warns with the record on
/// standard error (a pipeline's log is where the status would be) and converges again with it.
async fn converge_adopting(reconciler: &Reconciler, queue: &SecureQueue) -> Report {
    let report = reconciler.converge(queue, &CallLog::default()).await;
    let Some(record) = reconciler.adoption_for(queue, &report).await else {
        return report;
    };
    eprintln!(
        "warning: {}: {}",
        report.name,
        status::adoption_note(&record)
    );
    let mut adopting = queue.clone();
    adopting.status = Some(status::with_adoption(queue.status.as_ref(), record));
    reconciler.converge(&adopting, &CallLog::default()).await
}

pub(super) async fn delete(args: ApplyArgs) -> ExitCode {
    let (reconciler, inputs) = match prepare(&args).await {
        Ok(ready) => ready,
        Err(code) => return code,
    };
    let mut deletions = Vec::new();
    for (_, queue) in &inputs.queues {
        let deletion = reconciler.delete(queue, &CallLog::default()).await;
        if args.output == Format::Text {
            print_steps(&deletion.name, &deletion.steps);
            print_calls(&deletion.calls);
        }
        deletions.push(deletion);
    }
    print_structured(args.output, &deletions);
    if deletions.iter().all(|d| d.finished()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_calls(calls: &CallCounts) {
    let by_operation: Vec<String> = calls.0.iter().map(|(op, n)| format!("{op}={n}")).collect();
    println!(
        "  AWS calls: {} (reads {}, writes {}): {}",
        calls.total(),
        calls.reads(),
        calls.writes(),
        by_operation.join(" ")
    );
}

fn print_structured<T: serde::Serialize>(format: Format, values: &T) {
    if let Some(document) = format.document(values) {
        println!("{}", document.trim_end());
    }
}
