//! The request budgets against the emulator's quota mode, which counts each operation's
//! requests per region as AWS does and throttles those beyond the quota. Each test works in a
//! region of its own, so the emulator's counts there are its own.

mod common;
mod emulator;

use std::time::{Duration, Instant};

use emulator::*;
use futures::future::join_all;
use securequeue::api::SecureQueue;
use securequeue::aws::request_quota::QuotaSettings;
use securequeue::reconcile::Reconciler;
use serde_json::json;

fn in_region(namespace: &str, region: &str) -> SecureQueue {
    let mut queue = secure_queue(namespace, "");
    queue.spec.region = Some(region.to_string());
    queue
}

fn throttled(region: &str, operation: &str) -> u64 {
    quota_counts(region)
        .get(operation)
        .map_or(0, |(_, throttled)| *throttled)
}

/// Converges `queues` all at once; returns how long each pass took and whether it was Ready.
async fn converge_all(reconciler: &Reconciler, queues: &[SecureQueue]) -> Vec<(Duration, bool)> {
    join_all(queues.iter().map(|queue| async move {
        let started = Instant::now();
        let report = converge(reconciler, queue).await;
        (started.elapsed(), report.is_ready())
    }))
    .await
}

#[tokio::test]
async fn at_the_whole_quota_an_onboarding_wave_is_never_throttled_and_steady_passes_are_not_held_up()
 {
    const REGION: &str = "eu-west-3";
    // AWS's default quotas, of which a wave of new SecureQueues meets only CreateKey's: 5 a
    // second, against 2,000 for DescribeKey.
    enforce_quotas(REGION, json!({}));
    let reconciler = reconciler_in(REGION, QuotaSettings::new(1.0, [])).await;
    let prefix = unique_namespace("quota-wave");
    let existing: Vec<_> = (0..5)
        .map(|i| in_region(&format!("{prefix}-old-{i}"), REGION))
        .collect();
    assert!(
        converge_all(&reconciler, &existing)
            .await
            .iter()
            .all(|(_, ready)| *ready)
    );

    // 25 new SecureQueues wait for CreateKey (5 seconds of it) while the existing ones have
    // their steady-state passes.
    let wave: Vec<_> = (0..25)
        .map(|i| in_region(&format!("{prefix}-new-{i}"), REGION))
        .collect();
    let started = Instant::now();
    let (onboarded, steady) = tokio::join!(converge_all(&reconciler, &wave), async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        converge_all(&reconciler, &existing).await
    });
    let wave_took = started.elapsed();

    assert!(onboarded.iter().all(|(_, ready)| *ready), "{onboarded:?}");
    assert!(steady.iter().all(|(_, ready)| *ready), "{steady:?}");
    assert_eq!(
        throttled(REGION, "kms:CreateKey"),
        0,
        "{:?}",
        quota_counts(REGION)
    );
    // The wave keeps to the quota: 25 CreateKeys at 5 per second take at least 4.8 s.
    assert!(wave_took >= Duration::from_millis(4_800), "{wave_took:?}");
    // The steady passes read through other budgets: none waits behind the CreateKey backlog,
    // which would keep it until near the wave's end (the emulator's own speed varies with the
    // machine's load, so the measure is the wave).
    let slowest = steady.iter().map(|(took, _)| *took).max().unwrap();
    assert!(
        slowest < wave_took / 2,
        "a steady pass took {slowest:?} behind a wave of {wave_took:?}"
    );
    let budgets = reconciler.budgets();
    let describe = budgets
        .iter()
        .find(|(_, _, b)| b.operation == "kms:DescribeKey")
        .unwrap();
    assert!(
        describe.2.requests > 30 && describe.2.throttles == 0,
        "{describe:?}"
    );
    stop_enforcing_quotas(REGION);
}

#[tokio::test]
async fn throttles_from_another_client_are_absorbed_by_the_one_operation_they_hit() {
    const REGION: &str = "ap-southeast-2";
    // The operator takes the whole documented quota as its own.
    let reconciler = reconciler_in(REGION, QuotaSettings::new(1.0, [])).await;
    // Other clients of the account take 2 of CreateKey's 5 requests per second.
    enforce_quotas(REGION, json!({"kms:CreateKey": 3}));
    let prefix = unique_namespace("quota-rival");
    let queues: Vec<_> = (0..20)
        .map(|i| in_region(&format!("{prefix}-{i}"), REGION))
        .collect();
    let passes = converge_all(&reconciler, &queues).await;

    assert!(passes.iter().all(|(_, ready)| *ready), "{passes:?}");
    let budgets = reconciler.budgets();
    let create_key = &budgets
        .iter()
        .find(|(_, _, b)| b.operation == "kms:CreateKey")
        .unwrap()
        .2;
    assert!(
        create_key.throttles > 0 && create_key.cuts > 0,
        "{create_key:?}"
    );
    assert!(create_key.rate < create_key.budget, "{create_key:?}");
    for (_, _, other) in budgets
        .iter()
        .filter(|(_, _, b)| b.operation != "kms:CreateKey")
    {
        assert_eq!(other.cuts, 0, "{other:?} was cut by CreateKey's throttles");
    }
    stop_enforcing_quotas(REGION);
}
