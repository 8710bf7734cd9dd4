//! The KMS request estimate of the SQS key management guide: R = B / D × (2P + C).

use serde::Serialize;

use crate::resolve::Resolved;

/// B: the billing period the estimate covers, 30 days in seconds.
pub const BILLING_PERIOD_SECONDS: u64 = 30 * 24 * 60 * 60;

/// KMS requests for one queue over `billing_seconds`, rounded up: each producing principal
/// costs a GenerateDataKey and a Decrypt per reuse period, each consuming principal a Decrypt.
pub fn requests(
    billing_seconds: u64,
    reuse_period_seconds: u32,
    producers: u64,
    consumers: u64,
) -> u64 {
    (billing_seconds * (2 * producers + consumers)).div_ceil(u64::from(reuse_period_seconds))
}

/// The estimate for one queue.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct QueueEstimate {
    /// P: principals that send.
    pub producing_principals: u64,
    /// C: principals that receive.
    pub consuming_principals: u64,
    /// R for this queue.
    pub requests: u64,
}

/// The estimate for both queues, assuming every principal is active in every reuse period (an
/// upper bound; AWS notes the real figure can be higher because SQS is distributed).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KmsEstimate {
    /// R for both queues together.
    pub estimated_requests_per_30_days: u64,
    /// D, the data key reuse period.
    pub data_key_reuse_period_seconds: u32,
    /// The main queue: its producers and consumers.
    pub queue: QueueEstimate,
    /// The dead-letter queue: the main queue's redrive as its one producer, and its consumers.
    pub dead_letter_queue: QueueEstimate,
}

/// The estimate for a resolved SecureQueue.
pub fn estimate(q: &Resolved) -> KmsEstimate {
    let reuse = q.spec.key.data_key_reuse_period_seconds;
    let p = &q.spec.producers;
    let producers = [
        &p.sns_topic_arns,
        &p.s3_bucket_arns,
        &p.event_bridge_rule_arns,
        &p.role_arns,
    ]
    .iter()
    .map(|list| list.len() as u64)
    .sum();
    let queue = queue_estimate(reuse, producers, q.consumers.len() as u64);
    let dead_letter_queue = queue_estimate(reuse, 1, q.dead_letter_queue_consumers.len() as u64);
    KmsEstimate {
        estimated_requests_per_30_days: queue.requests + dead_letter_queue.requests,
        data_key_reuse_period_seconds: reuse,
        queue,
        dead_letter_queue,
    }
}

fn queue_estimate(reuse: u32, producers: u64, consumers: u64) -> QueueEstimate {
    QueueEstimate {
        producing_principals: producers,
        consuming_principals: consumers,
        requests: requests(BILLING_PERIOD_SECONDS, reuse, producers, consumers),
    }
}

#[cfg(test)]
mod tests {
    use super::requests;

    #[test]
    fn matches_the_guides_first_example() {
        // January (2,678,400 s), 300 s reuse, one producer and one consumer.
        assert_eq!(requests(2_678_400, 300, 1, 1), 26_784);
    }

    #[test]
    fn matches_the_guides_second_example() {
        // February (2,419,200 s), 24 h reuse, two queues: 3P+1C and 5P+2C.
        assert_eq!(
            requests(2_419_200, 86_400, 3, 1) + requests(2_419_200, 86_400, 5, 2),
            532
        );
    }

    #[test]
    fn rounds_up_a_partial_period() {
        assert_eq!(requests(100, 60, 0, 1), 2);
    }
}
