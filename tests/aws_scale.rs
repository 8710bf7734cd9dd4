//! Many SecureQueues at once against the moto emulator, with the emulator throttling each
//! service above a rate the operator's budgets do not know of (its quotas raised, other
//! clients busy): the operations AWS throttles slow down, and every SecureQueue converges, none
//! starved.

mod common;
mod emulator;

use std::collections::BTreeMap;

use emulator::*;
use futures::stream::{self, StreamExt};
use securequeue::aws::ConnectOptions;
use securequeue::aws::request_quota::{QuotaOverride, QuotaSettings};
use securequeue::reconcile::Report;
use serde_json::json;

const QUEUES: usize = 200;
/// How many passes run at once, as the controller's default concurrency.
const CONCURRENCY: usize = 32;
/// Rounds of passes over the SecureQueues not yet Ready, as the controller's requeues.
const ROUNDS: usize = 12;

#[tokio::test]
async fn two_hundred_secure_queues_converge_under_throttling_none_starved() {
    // Budgets far above the emulator's limits, so that AWS's throttles are what paces.
    let raised = [
        "CreateKey",
        "CreateAlias",
        "TagResource",
        "EnableKeyRotation",
        "PutKeyPolicy",
    ]
    .map(|op| QuotaOverride::parse(&format!("kms:{op}=200")).unwrap());
    let reconciler = reconciler_with(ConnectOptions {
        quotas: QuotaSettings::new(1.0, raised),
        ..ConnectOptions::default()
    })
    .await;
    let (kms, sqs) = raw().await;
    let prefix = unique_namespace("scale");
    // Every request naming these SecureQueues counts against a per-service rate; those beyond
    // it are throttled with each service's own error code.
    for (service, code, rate) in [
        ("kms", "ThrottlingException", 40),
        ("sqs", "RequestThrottled", 60),
    ] {
        inject(json!({
            "operation": "*",
            "service": service,
            "code": code,
            "status": 400,
            "ratePerSecond": rate,
            "bodyContains": prefix,
        }));
    }
    let queues: Vec<_> = (0..QUEUES)
        .map(|i| secure_queue(&format!("{prefix}-{i}"), ""))
        .collect();

    let mut waiting: Vec<usize> = (0..QUEUES).collect();
    let mut rounds_needed = vec![0; QUEUES];
    // The conditions that did not hold in each SecureQueue's latest pass.
    let mut unmet: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for round in 1..=ROUNDS {
        if waiting.is_empty() {
            break;
        }
        let reports: Vec<(usize, Report)> = stream::iter(waiting.clone())
            .map(|i| {
                let reconciler = &reconciler;
                let queue = &queues[i];
                async move { (i, converge(reconciler, queue).await) }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (i, report) in reports {
            if report.is_ready() {
                rounds_needed[i] = round;
            }
            let failing = report.conditions.iter().filter(|c| !c.holds());
            unmet.insert(
                i,
                failing
                    .map(|c| format!("{} {}: {}", c.condition, c.reason.as_str(), c.message))
                    .collect(),
            );
        }
        waiting.retain(|i| rounds_needed[*i] == 0);
    }
    clear_faults(&prefix);
    let stuck: Vec<_> = waiting
        .iter()
        .take(10)
        .map(|i| {
            format!(
                "{}: {:#?}",
                queues[*i].metadata.namespace.as_deref().unwrap_or_default(),
                unmet[i]
            )
        })
        .collect();
    assert!(
        waiting.is_empty(),
        "{} of {QUEUES} SecureQueues never converged in {ROUNDS} rounds; the first ones' last conditions:\n{}",
        waiting.len(),
        stuck.join("\n")
    );

    // The throttles were met by slowing down the operations they hit.
    let budgets = reconciler.budgets();
    let throttles: u64 = budgets.iter().map(|(_, _, b)| b.throttles).sum();
    assert!(throttles > 0, "the emulator never throttled: {budgets:?}");
    assert!(
        budgets.iter().any(|(_, _, b)| b.cuts > 0),
        "no operation slowed down: {budgets:?}"
    );
    let slowest = rounds_needed.iter().max().copied().unwrap_or_default();
    println!(
        "{QUEUES} SecureQueues: {throttles} throttled attempts; rounds needed: at most {slowest}"
    );

    // One key of each, both queues of each.
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (namespace, _, state) in keys_tagged(&kms, |tagged| tagged.starts_with(&prefix)).await {
        keys.entry(namespace).or_default().push(state);
    }
    assert_eq!(keys.len(), QUEUES);
    for (namespace, states) in &keys {
        let live = states.iter().filter(|s| *s != "PendingDeletion").count();
        assert_eq!(live, 1, "{namespace}: {states:?}");
    }
    assert_eq!(queue_urls(&sqs, &prefix).await.len(), 2 * QUEUES);
}
