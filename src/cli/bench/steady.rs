//! `bench --simulate-steady-state`: the resyncs of many SecureQueues over virtual time, with the
//! controller's own scheduling (`controller::spread`), and the read rate they make by
//! operation, from the reads a real later pass makes against AWS.

use std::time::Duration;

use crate::aws::calls::CallCounts;
use crate::aws::request_quota::{QuotaSettings, Service};
use crate::controller::spread;

/// Windows simulated: the first (the start-up wave) and two after it.
const WINDOWS: u32 = 3;

/// What the simulation measured after the first window.
#[derive(Debug, PartialEq)]
pub(super) struct Steady {
    /// Resync starts per second: the mean, the least and the most.
    pub mean: f64,
    pub min: u32,
    pub max: u32,
    /// Per read operation: its peak requests per second, and its budget.
    pub reads: Vec<(String, f64, Option<f64>)>,
}

/// Simulates `count` SecureQueues resyncing every `window`, each later pass making
/// `per_pass` calls (by operation, for one SecureQueue).
pub(super) fn simulate(
    count: usize,
    window: Duration,
    per_pass: &CallCounts,
    settings: &QuotaSettings,
) -> Steady {
    let per_second = spread::simulate(count, window, WINDOWS);
    let after_first = &per_second[window.as_secs() as usize..];
    let (min, max) = after_first
        .iter()
        .fold((u32::MAX, 0), |(lo, hi), n| (lo.min(*n), hi.max(*n)));
    let reads = per_pass
        .0
        .iter()
        .filter_map(|(name, calls)| {
            let (service, operation) = name.split_once(':')?;
            let peak = f64::from(max) * *calls as f64;
            let budget = Service::named(service).and_then(|s| settings.budget(s, operation));
            Some((name.clone(), peak, budget))
        })
        .collect();
    Steady {
        mean: count as f64 / window.as_secs_f64(),
        min,
        max,
        reads,
    }
}

/// Prints what the simulation measured; returns whether the rate was flat within ±20% and
/// every read kept below its budget.
pub(super) fn report(steady: &Steady, count: usize, window: Duration) -> bool {
    let low = f64::from(steady.min) / steady.mean - 1.0;
    let high = f64::from(steady.max) / steady.mean - 1.0;
    let flat = low >= -0.2 && high <= 0.2;
    println!(
        "steady state, simulated: {count} SecureQueues, resync every {} s, {WINDOWS} windows of virtual time",
        window.as_secs()
    );
    println!(
        "  resync starts per second after the first window: mean {:.1}, least {} ({:+.0}%), most {} ({:+.0}%): {}",
        steady.mean,
        steady.min,
        low * 100.0,
        steady.max,
        high * 100.0,
        if flat {
            "flat within ±20%"
        } else {
            "NOT flat within ±20%"
        }
    );
    let mut below = true;
    for (operation, peak, budget) in &steady.reads {
        match budget {
            Some(budget) => {
                below &= peak < budget;
                println!(
                    "  {operation}: peak {peak:.0} requests/s, budget {budget}/s ({:.0}% of it)",
                    peak / budget * 100.0
                );
            }
            None => println!("  {operation}: peak {peak:.0} requests/s (SQS documents no quota)"),
        }
    }
    flat && below
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn the_read_rate_is_the_peak_start_rate_times_each_operations_reads() {
        let per_pass = CallCounts(BTreeMap::from([
            ("kms:DescribeKey".to_string(), 1),
            ("sqs:GetQueueAttributes".to_string(), 2),
        ]));
        let steady = simulate(
            10_000,
            Duration::from_secs(600),
            &per_pass,
            &QuotaSettings::default(),
        );
        assert!(steady.min >= 14 && steady.max <= 20, "{steady:?}");
        let describe = &steady.reads[0];
        assert_eq!(describe.0, "kms:DescribeKey");
        assert_eq!(describe.1, f64::from(steady.max));
        assert_eq!(describe.2, Some(1000.0));
        assert_eq!(steady.reads[1].1, 2.0 * f64::from(steady.max));
        assert!(report(&steady, 10_000, Duration::from_secs(600)));
    }
}
