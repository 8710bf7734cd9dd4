//! Many SecureQueues at once against the moto emulator, with the emulator throttling each
//! service above a rate, as AWS does: the operator paces each service as a whole and every
//! SecureQueue converges, none starved.

mod emulator;

use std::collections::BTreeMap;

use emulator::*;
use futures::stream::{self, StreamExt};
use securequeue::resolve::TAG_NAMESPACE;
use serde_json::json;

const QUEUES: usize = 500;
/// How many passes run at once, as the controller's default concurrency.
const CONCURRENCY: usize = 32;
/// Rounds of passes over the SecureQueues not yet Ready, as the controller's requeues.
const ROUNDS: usize = 12;

/// Every key of the emulator whose namespace tag starts with `prefix`, by namespace, with its
/// state.
async fn keys_by_namespace(
    kms: &aws_sdk_kms::Client,
    prefix: &str,
) -> BTreeMap<String, Vec<String>> {
    let keys: Vec<_> = kms
        .list_keys()
        .limit(1000)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .expect("ListKeys");
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for key in keys {
        let id = key.key_id().expect("key id");
        let tags = kms
            .list_resource_tags()
            .key_id(id)
            .send()
            .await
            .expect("ListResourceTags");
        let Some(namespace) = tags
            .tags()
            .iter()
            .find(|t| t.tag_key() == TAG_NAMESPACE && t.tag_value().starts_with(prefix))
            .map(|t| t.tag_value().to_string())
        else {
            continue;
        };
        let state = kms
            .describe_key()
            .key_id(id)
            .send()
            .await
            .expect("DescribeKey")
            .key_metadata()
            .and_then(|m| m.key_state().map(|s| s.as_str().to_string()))
            .unwrap_or_default();
        found.entry(namespace).or_default().push(state);
    }
    found
}

#[tokio::test]
async fn five_hundred_secure_queues_converge_under_throttling_none_starved() {
    let reconciler = reconciler().await;
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
    for round in 1..=ROUNDS {
        if waiting.is_empty() {
            break;
        }
        let reports: Vec<(usize, bool)> = stream::iter(waiting.clone())
            .map(|i| {
                let reconciler = &reconciler;
                let queue = &queues[i];
                async move { (i, converge(reconciler, queue).await.is_ready()) }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (i, ready) in reports {
            if ready {
                rounds_needed[i] = round;
            }
        }
        waiting.retain(|i| rounds_needed[*i] == 0);
    }
    clear_faults(&prefix);
    assert!(
        waiting.is_empty(),
        "{} of {QUEUES} SecureQueues never converged in {ROUNDS} rounds: {:?}",
        waiting.len(),
        &waiting[..waiting.len().min(10)]
    );

    // The throttles were met by pacing each service as a whole.
    let pacing = reconciler.pacing();
    let throttles: u64 = pacing.iter().map(|(_, _, pace)| pace.throttles).sum();
    assert!(throttles > 0, "the emulator never throttled: {pacing:?}");
    assert!(
        pacing.iter().any(|(_, _, pace)| pace.rate.is_some()),
        "no service was paced: {pacing:?}"
    );
    let slowest = rounds_needed.iter().max().copied().unwrap_or_default();
    println!(
        "{QUEUES} SecureQueues: {throttles} throttled attempts; rounds needed: at most {slowest}; pacing {pacing:?}"
    );

    // One key of each, both queues of each.
    let keys = keys_by_namespace(&kms, &prefix).await;
    assert_eq!(keys.len(), QUEUES);
    for (namespace, states) in &keys {
        let live = states.iter().filter(|s| *s != "PendingDeletion").count();
        assert_eq!(live, 1, "{namespace}: {states:?}");
    }
    let listed: Vec<_> = sqs
        .list_queues()
        .queue_name_prefix(&prefix)
        .max_results(1000)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .expect("ListQueues");
    assert_eq!(listed.len(), 2 * QUEUES);
}
