//! `securequeue verify --operator`: the containment table of the operator's own IAM policy (see
//! [`crate::evaluate::containment`]), for the policies of the given SecureQueues or of a probe.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::api::SecureQueue;
use crate::evaluate::containment::{Row, table};
use crate::manifest;
use crate::plan;
use crate::policy::operator::{OperatorScope, operator_policy};
use crate::resolve::{Environment, Resolved};
use serde_json::Value;

use super::input;
use super::output::{Checked, Format};

/// A SecureQueue whose policies stand for any the operator writes, when no manifest is given;
/// it keeps to the guardrails (the organization they may require), as every SecureQueue must.
fn probe(env: &Environment) -> SecureQueue {
    let region = env.region.as_deref().unwrap_or("us-east-1");
    let partition = env
        .operator_role_arn
        .split(':')
        .nth(1)
        .unwrap_or("aws")
        .to_string();
    let text = format!(
        "apiVersion: securequeue.io/v1alpha1
kind: SecureQueue
metadata:
  name: containment-probe
  namespace: securequeue-verify
spec:
  region: {region}
  consumerRoleArns:
    - arn:{partition}:iam::{account}:role/securequeue-verify-consumer
{organization}",
        account = env.account_id,
        organization = env
            .guardrails
            .required_organization_id
            .as_ref()
            .map_or_else(String::new, |id| format!("  organizationId: {id}\n")),
    );
    manifest::parse(&text)
        .ok()
        .and_then(|mut docs| docs.pop())
        .and_then(|doc| doc.parsed.ok())
        .expect("the probe is a valid SecureQueue")
}

/// The operator whose containment is checked.
pub(super) struct Operator {
    /// Its configuration, with the guardrails its IAM policy is scoped to (the queue name and
    /// key alias prefixes).
    pub env: Environment,
    /// The IAM policy to check, when not the generated one.
    pub iam_policy: Option<PathBuf>,
}

impl Operator {
    /// The IAM policy document given, or the generated one for the SecureQueue's account.
    fn policy(&self, resolved: &Resolved) -> Result<Value, String> {
        let Some(path) = &self.iam_policy else {
            let guardrails = &self.env.guardrails;
            return Ok(operator_policy(&OperatorScope {
                partition: resolved.partition.to_string(),
                account_id: resolved.account_id.clone(),
                queue_name_prefix: guardrails.queue_name_prefix.clone().unwrap_or_default(),
                key_alias_prefix: guardrails.key_alias_prefix.clone().unwrap_or_default(),
            }));
        };
        let shown = path.display();
        let text =
            super::input::read_text(path).map_err(|why| format!("--iam-policy: {shown} {why}"))?;
        let policy: Value = serde_json::from_str(&text)
            .map_err(|e| format!("--iam-policy: {shown} is not JSON: {e}"))?;
        if !policy["Statement"].is_array() {
            return Err(format!(
                "--iam-policy: {shown} has no Statement list; give the policy document itself"
            ));
        }
        Ok(policy)
    }
}

/// Prints the table for each SecureQueue (the probe without files); fails if any row fails.
pub(super) fn run(files: &[PathBuf], operator: &Operator, format: Format) -> ExitCode {
    let queues = if files.is_empty() {
        let probe = probe(&operator.env);
        vec![("the probe".to_string(), probe)]
    } else {
        let inputs = input::read(files);
        if !inputs.errors.is_empty() {
            for error in &inputs.errors {
                eprintln!("error: {error}");
            }
            return ExitCode::FAILURE;
        }
        inputs.queues
    };
    let mut failed = false;
    let mut checked = Vec::new();
    for (source, queue) in &queues {
        match rows(queue, operator) {
            Ok(rows) => {
                let name = crate::reconcile::display_name(queue);
                if format == Format::Text {
                    print(&rows, &format!("{source} ({name})"));
                }
                format.summary(&summary(&rows));
                let holds = rows.iter().all(|r| r.holds);
                failed |= !holds;
                checked.push(Checked {
                    source: source.clone(),
                    name,
                    holds,
                    rows,
                });
            }
            Err(e) => {
                eprintln!("error: {source}: {e}");
                failed = true;
            }
        }
    }
    if let Some(document) = format.document(&checked) {
        println!("{document}");
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn rows(queue: &SecureQueue, operator: &Operator) -> Result<Vec<Row>, String> {
    let (resolved, plan) = plan::build_resolved(queue, &operator.env).map_err(|problems| {
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    table(&operator.policy(&resolved)?, &plan, &resolved).map_err(|e| e.to_string())
}

fn print(rows: &[Row], subject: &str) {
    println!("containment of the operator's IAM policy, with the policies of {subject}");
    for row in rows {
        let by = row.decision.statements();
        println!(
            "  {} {:<8} {:<31} {:<16} {:<24} {:<12} {}",
            if row.holds { "ok  " } else { "FAIL" },
            if row.must_be_allowed {
                "allow"
            } else {
                "never"
            },
            row.owner.describe(),
            format!("{:?}", row.resource),
            row.action,
            format!("{:?}", row.decision.effect),
            by
        );
    }
}

fn summary(rows: &[Row]) -> String {
    let own = rows.iter().filter(|r| r.must_be_allowed).count();
    let holding = rows.iter().filter(|r| r.holds).count();
    format!(
        "containment: {holding} of {} rows hold ({own} operations on the operator's own resources must be allowed, {} on another's never)",
        rows.len(),
        rows.len() - own
    )
}
