//! `securequeue bench`: converge N generated SecureQueues, then run one steady-state pass, and
//! report wall time, AWS calls per queue, the latency-bound lower limit and peak memory.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use futures::stream::{self, StreamExt};

use crate::api::{SecureQueue, SecureQueueSpec};
use crate::arn;
use crate::aws::calls::{CallCounts, CallLog};
use crate::reconcile::Reconciler;

use super::operator::OperatorArgs;

/// Dependent round trips of a fresh converge: lookups, orphan search, CreateKey, TagResource,
/// alias and rotation, dead-letter queue and its tags, queue and its tags (see `plan::steps`).
const FRESH_ROUND_TRIPS: u32 = 9;
/// Dependent round trips of a steady-state pass: DescribeKey, then every other read together.
const STEADY_ROUND_TRIPS: u32 = 2;
/// The calls of a fresh converge when the region's aliases and keys fit on one listing page
/// each (see `plan::steps`).
const FRESH_CALLS: u64 = 13;
/// The reads of a steady-state pass (see `reconcile::memory`).
const STEADY_READS: u64 = 6;

#[derive(Args, Debug)]
pub(super) struct BenchArgs {
    /// How many SecureQueues to converge.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    queues: u32,

    /// How many converge at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    concurrency: u32,

    /// Latency added to every AWS request, in milliseconds, on the client side.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,

    /// Leave the generated keys and queues in place instead of deleting them afterwards.
    #[arg(long)]
    keep: bool,

    #[command(flatten)]
    operator: OperatorArgs,
}

/// What one round of passes over every queue measured.
struct Round {
    wall: Duration,
    calls: CallCounts,
    ready: usize,
}

async fn round(reconciler: &Reconciler, queues: &[SecureQueue], concurrency: u32) -> Round {
    let started = Instant::now();
    let reports: Vec<_> = stream::iter(queues)
        .map(|queue| async move { reconciler.converge(queue, &CallLog::default()).await })
        .buffer_unordered(concurrency as usize)
        .collect()
        .await;
    let mut calls = CallCounts::default();
    for report in &reports {
        calls.add(&report.calls);
    }
    Round {
        wall: started.elapsed(),
        calls,
        ready: reports.iter().filter(|r| r.is_ready()).count(),
    }
}

fn generated(count: u32, account: &str, partition: &str) -> Vec<SecureQueue> {
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let namespace = format!("bench-{run}");
    (0..count)
        .map(|i| {
            let spec: SecureQueueSpec = serde_json::from_value(serde_json::json!({
                "consumerRoleArns": [format!("arn:{partition}:iam::{account}:role/bench-consumer")],
                "deletionPolicy": "Delete",
            }))
            .expect("the generated spec deserializes");
            let mut queue = SecureQueue::new(&format!("q{i}"), spec);
            queue.metadata.namespace = Some(namespace.clone());
            queue
        })
        .collect()
}

/// The lower bound on wall time: every queue needs `trips` dependent round trips of `latency`,
/// and at most `concurrency` queues are in flight.
fn lower_bound(queues: u32, concurrency: u32, trips: u32, latency: Duration) -> Duration {
    let waves = queues.div_ceil(concurrency);
    latency * trips * waves
}

/// The calls the design allows for these fresh converges: 10 each, plus every listing page
/// beyond the first, which the region's growing number of aliases and keys makes necessary.
fn fresh_minimum(calls: &CallCounts, queues: u32) -> u64 {
    let pages_beyond_first = |operation: &str| {
        calls
            .0
            .get(operation)
            .copied()
            .unwrap_or(0)
            .saturating_sub(u64::from(queues))
    };
    FRESH_CALLS * u64::from(queues)
        + pages_beyond_first("kms:ListAliases")
        + pages_beyond_first("kms:ListKeys")
}

fn print_fresh_minimum(calls: &CallCounts, queues: u32) {
    let minimum = fresh_minimum(calls, queues);
    let per = |n: u64| n as f64 / f64::from(queues);
    let verdict = if calls.total() == minimum {
        "equal".to_string()
    } else {
        format!("{} calls over", calls.total().abs_diff(minimum))
    };
    println!(
        "  the design's minimum: {:.2} calls per queue ({FRESH_CALLS}, plus {:.2} listing pages beyond the first); measured {:.2}: {verdict}",
        per(minimum),
        per(minimum - FRESH_CALLS * u64::from(queues)),
        per(calls.total()),
    );
}

/// Peak resident set size of this process, from /proc (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn print_round(label: &str, round: &Round, args: &BenchArgs, trips: u32) {
    let queues = args.queues;
    let bound = lower_bound(
        queues,
        args.concurrency,
        trips,
        Duration::from_millis(args.latency_ms),
    );
    let per = |n: u64| n as f64 / f64::from(queues);
    println!(
        "{label}: wall {:.3} s, ready {}/{queues}; per queue {:.1} AWS calls (reads {:.1}, writes {:.1})",
        round.wall.as_secs_f64(),
        round.ready,
        per(round.calls.total()),
        per(round.calls.reads()),
        per(round.calls.writes()),
    );
    if bound.is_zero() {
        println!(
            "  lower bound: needs --latency-ms (each queue takes {trips} dependent round trips)"
        );
    } else {
        println!(
            "  lower bound {:.3} s ({trips} dependent round trips per queue); ratio {:.2}",
            bound.as_secs_f64(),
            round.wall.as_secs_f64() / bound.as_secs_f64()
        );
    }
    let by_operation: Vec<String> = round
        .calls
        .0
        .iter()
        .map(|(op, n)| format!("{op}={n}"))
        .collect();
    println!("  calls: {}", by_operation.join(" "));
}

pub(super) async fn run(args: BenchArgs) -> ExitCode {
    let latency = Duration::from_millis(args.latency_ms);
    let reconciler = match args
        .operator
        .reconciler((!latency.is_zero()).then_some(latency))
        .await
    {
        Ok(reconciler) => reconciler,
        Err(errors) => {
            for error in errors {
                eprintln!("error: {error}");
            }
            return ExitCode::from(2);
        }
    };
    let env = reconciler.environment();
    // The operator role was validated, so it parses; its partition is the queues' too.
    let partition = arn::parse_role(&env.operator_role_arn)
        .map(|role| role.arn.partition.to_string())
        .unwrap_or_else(|_| "aws".to_string());
    let queues = generated(args.queues, &env.account_id, &partition);
    println!(
        "bench: {} SecureQueues, concurrency {}, added latency {} ms per request",
        args.queues, args.concurrency, args.latency_ms
    );

    let fresh = round(&reconciler, &queues, args.concurrency).await;
    print_round("fresh converge", &fresh, &args, FRESH_ROUND_TRIPS);
    print_fresh_minimum(&fresh.calls, args.queues);
    let steady = round(&reconciler, &queues, args.concurrency).await;
    print_round("steady state", &steady, &args, STEADY_ROUND_TRIPS);
    println!(
        "  the design's steady state: {STEADY_READS} reads and no writes per queue; measured {:.2} reads, {:.2} writes",
        steady.calls.reads() as f64 / f64::from(args.queues),
        steady.calls.writes() as f64 / f64::from(args.queues)
    );

    match peak_rss_kib() {
        Some(kib) => println!("peak RSS: {:.1} MiB", kib as f64 / 1024.0),
        None => println!("peak RSS: unknown (no /proc/self/status)"),
    }

    if !args.keep {
        let deleted: Vec<bool> = stream::iter(&queues)
            .map(|queue| async {
                reconciler
                    .delete(queue, &CallLog::default())
                    .await
                    .finished()
            })
            .buffer_unordered(args.concurrency as usize)
            .collect()
            .await;
        let left = deleted.iter().filter(|done| !**done).count();
        println!(
            "cleanup: deleted {} of {} SecureQueues' resources",
            deleted.len() - left,
            deleted.len()
        );
    }

    let all_ready = fresh.ready == queues.len() && steady.ready == queues.len();
    if all_ready && steady.calls.writes() == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("not every SecureQueue converged, or the steady state wrote");
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lower_bound_counts_waves_of_dependent_round_trips() {
        let ms = Duration::from_millis;
        assert_eq!(lower_bound(100, 10, 6, ms(20)), ms(1200));
        assert_eq!(lower_bound(101, 10, 6, ms(20)), ms(1320));
        assert_eq!(lower_bound(5, 10, 2, ms(20)), ms(40));
        assert_eq!(lower_bound(5, 10, 2, ms(0)), ms(0));
    }

    #[test]
    fn the_fresh_minimum_counts_listing_pages_beyond_the_first() {
        let calls = CallCounts(std::collections::BTreeMap::from([
            ("kms:ListAliases".to_string(), 7),
            ("kms:ListKeys".to_string(), 5),
        ]));
        assert_eq!(fresh_minimum(&calls, 5), 67);
        assert_eq!(fresh_minimum(&CallCounts::default(), 5), 65);
    }

    #[test]
    fn generated_queues_are_valid_and_distinct() {
        let queues = generated(3, "111122223333", "aws");
        let env = crate::resolve::Environment {
            account_id: "111122223333".into(),
            region: Some("us-east-1".into()),
            operator_role_arn: "arn:aws:iam::111122223333:role/op".into(),
            cluster_id: "bench".into(),
            allow_cross_account: false,
        };
        let names: std::collections::BTreeSet<String> = queues
            .iter()
            .map(|q| crate::plan::build(q, &env).unwrap().queue.name)
            .collect();
        assert_eq!(names.len(), 3);
    }
}
