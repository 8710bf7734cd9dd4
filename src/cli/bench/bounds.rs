//! The lower bounds a pass is measured against: latency (dependent round trips) and request
//! quotas (the slowest operation's calls at its budget), and the design's minimum calls.

use std::time::Duration;

use crate::aws::calls::CallCounts;
use crate::aws::request_quota::{QuotaSettings, Service};

/// The lower bound on wall time from latency: every queue needs `trips` dependent round trips
/// of `latency`, and at most `concurrency` queues are in flight.
pub(super) fn latency_bound(
    queues: u32,
    concurrency: u32,
    trips: u32,
    latency: Duration,
) -> Duration {
    let waves = queues.div_ceil(concurrency);
    latency * trips * waves
}

/// The operation that bounds a pass from below, and how long its calls take at the rate left
/// to the operator.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct QuotaBound {
    /// `service:Operation`.
    pub operation: String,
    /// Its calls in the pass.
    pub calls: u64,
    /// The requests per second it may make.
    pub rate: f64,
    /// `calls / rate`.
    pub bound: Duration,
}

/// The quota bound of a pass that made `calls`: the longest time any operation's calls take at
/// its budget (`settings`), less what another client takes of its quota (`rival`, requests
/// per second of `service:Operation`). `None` when no operation called has a budget.
pub(super) fn quota_bound(
    calls: &CallCounts,
    settings: &QuotaSettings,
    rival: Option<(&str, f64)>,
) -> Option<QuotaBound> {
    calls
        .0
        .iter()
        .filter_map(|(name, n)| {
            let (service, operation) = name.split_once(':')?;
            let service = Service::named(service)?;
            let mut rate = settings.budget(service, operation)?;
            if let Some((_, per_second)) = rival.filter(|(op, _)| op == name) {
                let quota = settings.quota(service, operation).unwrap_or(rate);
                rate = rate.min(quota - per_second).max(f64::MIN_POSITIVE);
            }
            Some(QuotaBound {
                operation: name.clone(),
                calls: *n,
                rate,
                bound: Duration::from_secs_f64(*n as f64 / rate),
            })
        })
        .max_by(|a, b| a.bound.cmp(&b.bound))
}

/// The calls the design allows for `queues` fresh converges of `per_queue` calls each, plus
/// every listing page beyond the first, which the region's growing number of aliases and keys
/// makes necessary.
pub(super) fn fresh_minimum(calls: &CallCounts, queues: u32, per_queue: u64) -> u64 {
    let pages_beyond_first = |operation: &str| {
        calls
            .0
            .get(operation)
            .copied()
            .unwrap_or(0)
            .saturating_sub(u64::from(queues))
    };
    per_queue * u64::from(queues)
        + pages_beyond_first("kms:ListAliases")
        + pages_beyond_first("kms:ListKeys")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> CallCounts {
        CallCounts(
            pairs
                .iter()
                .map(|(name, n)| (name.to_string(), *n))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    #[test]
    fn the_latency_bound_counts_waves_of_dependent_round_trips() {
        let ms = Duration::from_millis;
        assert_eq!(latency_bound(100, 10, 6, ms(20)), ms(1200));
        assert_eq!(latency_bound(101, 10, 6, ms(20)), ms(1320));
        assert_eq!(latency_bound(5, 10, 2, ms(20)), ms(40));
        assert_eq!(latency_bound(5, 10, 2, ms(0)), ms(0));
    }

    #[test]
    fn the_quota_bound_is_the_slowest_operation_at_its_budget() {
        let calls = counts(&[
            ("kms:CreateKey", 100),
            ("kms:EnableKeyRotation", 100),
            ("kms:DescribeKey", 300),
            ("sqs:CreateQueue", 200),
        ]);
        let bound = quota_bound(&calls, &QuotaSettings::new(1.0, []), None).unwrap();
        assert_eq!(bound.operation, "kms:CreateKey");
        assert_eq!(bound.bound, Duration::from_secs(20));
        let halved = quota_bound(&calls, &QuotaSettings::default(), None).unwrap();
        assert_eq!(halved.bound, Duration::from_secs(40));
        assert_eq!(
            quota_bound(
                &counts(&[("sqs:CreateQueue", 9)]),
                &QuotaSettings::default(),
                None
            ),
            None
        );
    }

    #[test]
    fn a_rival_leaves_less_of_its_operations_quota() {
        let calls = counts(&[("kms:CreateKey", 100)]);
        let full = QuotaSettings::new(1.0, []);
        let left = quota_bound(&calls, &full, Some(("kms:CreateKey", 2.5))).unwrap();
        assert_eq!(left.rate, 2.5);
        assert_eq!(left.bound, Duration::from_secs(40));
        // At half the quota, the half the rival leaves is the operator's share anyway.
        let half = quota_bound(
            &calls,
            &QuotaSettings::default(),
            Some(("kms:CreateKey", 2.5)),
        );
        assert_eq!(half.unwrap().bound, Duration::from_secs(40));
    }

    #[test]
    fn the_fresh_minimum_counts_listing_pages_beyond_the_first() {
        let calls = counts(&[("kms:ListAliases", 7), ("kms:ListKeys", 5)]);
        assert_eq!(fresh_minimum(&calls, 5, 13), 67);
        assert_eq!(fresh_minimum(&CallCounts::default(), 5, 13), 65);
    }
}
