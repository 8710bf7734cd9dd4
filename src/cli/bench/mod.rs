//! `securequeue bench`: converge N generated SecureQueues, then look at them twice more as the
//! controller's resyncs would, and report for each pass its wall time, AWS calls per queue,
//! its latency and quota bounds, throttled attempts by operation and peak memory. With
//! `--simulate-steady-state`, the resync schedule of N SecureQueues over virtual time instead.

mod accounts;
mod bounds;
#[cfg(feature = "dhat-heap")]
mod heap;
mod rival;
mod steady;
mod strangers;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use futures::stream::{self, StreamExt};

use crate::accounts::Accounts;
use crate::api::{SecureQueue, SecureQueueSpec};
use crate::arn;
use crate::aws::ConnectOptions;
use crate::aws::calls::{CallCounts, CallLog};
use crate::reconcile::ledger::KeptLedger;
use crate::reconcile::{Reconciler, Report};

use super::operator::{AwsArgs, OperatorArgs};
use accounts::{Spread, slowest_account};
use bounds::{fresh_minimum, latency_bound};
use rival::Rival;
use strangers::Strangers;

/// Dependent round trips of a fresh converge: lookups, CreateKey, TagResource, alias and
/// rotation, dead-letter queue and its tags, queue and its tags (see `plan::steps`); one more
/// for the orphan search without a status.
const FRESH_ROUND_TRIPS: u32 = 8;
/// Dependent round trips of a later pass: DescribeKey, then every other read together.
const LATER_ROUND_TRIPS: u32 = 2;
/// The calls of a fresh converge whose status keeps the key ledger (see `plan::steps`).
const FRESH_CALLS: u64 = 11;
/// The calls of a fresh converge without a status (`apply`): the orphan search's ListAliases
/// and ListKeys besides, when the region's aliases and keys fit on one listing page each.
const FRESH_CALLS_WITHOUT_STATUS: u64 = 13;
/// The reads of a later pass (see `reconcile::memory`).
const LATER_READS: u64 = 6;
/// The operation the rival calls.
const RIVAL_OPERATION: &str = "kms:CreateKey";

#[derive(Args, Debug)]
pub(super) struct BenchArgs {
    /// How many SecureQueues to converge (or, with --simulate-steady-state, to simulate).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    queues: u32,

    /// How many converge at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    concurrency: u32,

    /// Latency added to every AWS request, in milliseconds, on the client side.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,

    /// Another client of the account calling CreateKey this many times a second during the
    /// fresh converge, as teams' own tools do; its keys are scheduled for deletion afterwards.
    #[arg(long)]
    rival_create_keys_per_second: Option<f64>,

    /// Simulate the resyncs of --queues SecureQueues over virtual time with the controller's
    /// scheduling, and the read rate they make (three real SecureQueues measure a later pass's
    /// reads), instead of converging them all.
    #[arg(long)]
    simulate_steady_state: bool,

    /// The resync interval the simulation uses, in seconds.
    #[arg(long, default_value_t = 600)]
    resync_seconds: u64,

    /// Leave the generated keys and queues in place instead of deleting them afterwards.
    #[arg(long)]
    keep: bool,

    /// Converge as `apply` does, without a status to keep the key ledger in: every fresh
    /// converge searches the region for unaliased keys. By default the bench converges as the
    /// controller does, each SecureQueue's status (with its ledger) kept in memory between
    /// passes.
    #[arg(long)]
    without_status: bool,

    /// Fill the region with this many keys of other teams before the run, as a crowded account
    /// holds (emulator only: needs --endpoint-url). Removed afterwards.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    foreign_keys: u32,

    /// Give the first this many of the --foreign-keys an alias each.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    foreign_aliases: u32,

    /// Spread the SecureQueues over this many bound accounts (SecureQueueAccounts made for the
    /// run), dealt in turn, instead of the operator's own (emulator only: needs
    /// --endpoint-url, which plays each account for a role assumed in it).
    #[arg(
        long,
        default_value_t = 0,
        value_parser = clap::value_parser!(u32).range(0..=1_000),
        conflicts_with = "simulate_steady_state"
    )]
    accounts: u32,

    /// Profile the heap during the fresh converge and write, to this file, the allocation sites
    /// of what was live at its peak (dhat's JSON).
    #[cfg(feature = "dhat-heap")]
    #[arg(long, value_name = "FILE")]
    heap_profile: Option<std::path::PathBuf>,

    #[command(flatten)]
    operator: OperatorArgs,

    #[command(flatten)]
    aws: AwsArgs,
}

/// What one round of passes over every queue measured.
struct Round {
    wall: Duration,
    calls: CallCounts,
    /// The same calls by the account they went to.
    by_account: BTreeMap<String, CallCounts>,
    ready: usize,
    /// The reasons of the passes that did not end Ready, with how many ended so.
    not_ready: BTreeMap<&'static str, usize>,
    /// Throttled attempts during the round, by operation.
    throttles: BTreeMap<String, u64>,
}

/// Throttled attempts so far by operation, in every account and region.
fn throttles_so_far(reconciler: &Reconciler) -> BTreeMap<String, u64> {
    let mut throttles = BTreeMap::new();
    for (_, _, budget) in reconciler.budgets() {
        *throttles.entry(budget.operation).or_default() += budget.throttles;
    }
    throttles
}

/// The SecureQueues a bench converges, each with the status the controller would have written
/// (and its key ledger) unless they converge as `apply` does.
struct Fleet {
    queues: Vec<SecureQueue>,
    ledgers: Option<Vec<KeptLedger>>,
    /// The operator's own account, where SecureQueues naming none are.
    home: String,
}

impl Fleet {
    fn new(queues: Vec<SecureQueue>, with_status: bool, home: &str) -> Self {
        let ledgers = with_status.then(|| queues.iter().map(|_| KeptLedger::default()).collect());
        Self {
            queues,
            ledgers,
            home: home.to_string(),
        }
    }

    /// One pass over every SecureQueue, `concurrency` at once: each one's report, with the
    /// account it is in.
    async fn pass(&mut self, reconciler: &Reconciler, concurrency: u32) -> Vec<(String, Report)> {
        let home = &self.home;
        let account = |queue: &SecureQueue| {
            queue
                .spec
                .account_id
                .clone()
                .unwrap_or_else(|| home.clone())
        };
        let Some(ledgers) = &mut self.ledgers else {
            return stream::iter(&self.queues)
                .map(|queue| async move {
                    let report = reconciler.converge(queue, &CallLog::default()).await;
                    (account(queue), report)
                })
                .buffer_unordered(concurrency as usize)
                .collect()
                .await;
        };
        stream::iter(self.queues.iter_mut().zip(ledgers))
            .map(|(queue, ledger)| async move {
                let report = reconciler
                    .converge_recorded(queue, &CallLog::default(), ledger)
                    .await;
                ledger.after_pass(queue, &report);
                (account(queue), report)
            })
            .buffer_unordered(concurrency as usize)
            .collect()
            .await
    }
}

async fn round(reconciler: &Reconciler, fleet: &mut Fleet, concurrency: u32) -> Round {
    let throttled_before = throttles_so_far(reconciler);
    let started = Instant::now();
    let reports = fleet.pass(reconciler, concurrency).await;
    let wall = started.elapsed();
    let mut calls = CallCounts::default();
    let mut by_account: BTreeMap<String, CallCounts> = BTreeMap::new();
    let mut not_ready = BTreeMap::new();
    for (account, report) in &reports {
        calls.add(&report.calls);
        by_account
            .entry(account.clone())
            .or_default()
            .add(&report.calls);
        if let Some(ready) = report.ready().filter(|r| !r.holds()) {
            *not_ready.entry(ready.reason.as_str()).or_default() += 1;
        }
    }
    let throttles = throttles_so_far(reconciler)
        .into_iter()
        .map(|(op, n)| {
            let before = throttled_before.get(&op).copied().unwrap_or(0);
            (op, n - before)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    Round {
        wall,
        calls,
        by_account,
        ready: reports.iter().filter(|(_, r)| r.is_ready()).count(),
        not_ready,
        throttles,
    }
}

/// The namespace of one run's SecureQueues, named for the time it started.
fn run_namespace() -> String {
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("bench-{run}")
}

/// `count` SecureQueues in `namespace`, each in the account `spread` deals it (or `home`) and
/// consumed by a role of that account.
fn generated(
    count: u32,
    namespace: &str,
    home: &str,
    partition: &str,
    spread: &Spread,
) -> Vec<SecureQueue> {
    (0..count as usize)
        .map(|i| {
            let account = spread.account_of(i);
            let consumer = format!(
                "arn:{partition}:iam::{}:role/bench-consumer",
                account.unwrap_or(home)
            );
            let spec: SecureQueueSpec = serde_json::from_value(serde_json::json!({
                "consumerRoleArns": [consumer],
                "deletionPolicy": "Delete",
                "accountId": account,
            }))
            .expect("the generated spec deserializes");
            let mut queue = SecureQueue::new(&format!("q{i}"), spec);
            queue.metadata.namespace = Some(namespace.to_string());
            queue
        })
        .collect()
}

fn print_fresh_minimum(calls: &CallCounts, queues: u32, with_status: bool) {
    let per_queue = if with_status {
        FRESH_CALLS
    } else {
        FRESH_CALLS_WITHOUT_STATUS
    };
    let minimum = fresh_minimum(calls, queues, per_queue);
    let per = |n: u64| n as f64 / f64::from(queues);
    let verdict = if calls.total() == minimum {
        "equal".to_string()
    } else {
        format!("{} calls over", calls.total().abs_diff(minimum))
    };
    println!(
        "  the design's minimum: {:.2} calls per queue ({per_queue}, plus {:.2} listing pages beyond the first); measured {:.2}: {verdict}",
        per(minimum),
        per(minimum - per_queue * u64::from(queues)),
        per(calls.total()),
    );
    let foreign = calls.0.get("kms:ListResourceTags").copied().unwrap_or(0);
    println!("  tag reads of keys no alias names (the orphan search's): {foreign}");
}

/// Peak resident set size of this process, from /proc (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn print_peak_rss(when: &str) {
    match peak_rss_kib() {
        Some(kib) => println!("peak RSS {when}: {:.1} MiB", kib as f64 / 1024.0),
        None => println!("peak RSS {when}: unknown (no /proc/self/status)"),
    }
}

/// Prints the quota bound of a round: the slowest account's, when the SecureQueues were
/// spread over several; `rival` is the CreateKeys per second another client of the operator's
/// own account got through.
fn print_quota_bound(round: &Round, reconciler: &Reconciler, rival: Option<f64>) {
    let rival = rival.map(|rate| (RIVAL_OPERATION, rate));
    let home = &reconciler.environment().account_id;
    let Some((account, bound)) =
        slowest_account(&round.by_account, reconciler.quotas(), home, rival)
    else {
        println!("  quota bound: none (no operation called has a budget)");
        return;
    };
    let whose = if round.by_account.len() > 1 {
        format!(
            " in account {account}, the slowest of {}",
            round.by_account.len()
        )
    } else {
        String::new()
    };
    let rivalled = rival.is_some_and(|(op, _)| op == bound.operation) && &account == home;
    println!(
        "  quota bound {:.3} s ({} calls of {} at {} per second{}{whose}); ratio {:.2}",
        bound.bound.as_secs_f64(),
        bound.calls,
        bound.operation,
        bound.rate,
        if rivalled {
            ", what the rival left of the quota"
        } else {
            ""
        },
        round.wall.as_secs_f64() / bound.bound.as_secs_f64().max(f64::MIN_POSITIVE)
    );
}

/// Prints what a round measured; `rival` is the CreateKeys per second another client of the
/// account got through during it.
fn print_round(
    label: &str,
    round: &Round,
    args: &BenchArgs,
    trips: u32,
    reconciler: &Reconciler,
    rival: Option<f64>,
) {
    let queues = args.queues;
    let per = |n: u64| n as f64 / f64::from(queues);
    println!(
        "{label}: wall {:.3} s, ready {}/{queues}; per queue {:.2} AWS calls (reads {:.2}, writes {:.2})",
        round.wall.as_secs_f64(),
        round.ready,
        per(round.calls.total()),
        per(round.calls.reads()),
        per(round.calls.writes()),
    );
    if !round.not_ready.is_empty() {
        let reasons: Vec<String> = round
            .not_ready
            .iter()
            .map(|(reason, n)| format!("{reason}={n}"))
            .collect();
        println!("  not Ready, by reason: {}", reasons.join(" "));
    }
    let latency = latency_bound(
        queues,
        args.concurrency,
        trips,
        Duration::from_millis(args.latency_ms),
    );
    if latency.is_zero() {
        println!(
            "  latency bound: needs --latency-ms (each queue takes {trips} dependent round trips)"
        );
    } else {
        println!(
            "  latency bound {:.3} s ({trips} dependent round trips per queue); ratio {:.2}",
            latency.as_secs_f64(),
            round.wall.as_secs_f64() / latency.as_secs_f64()
        );
    }
    print_quota_bound(round, reconciler, rival);
    let throttled: Vec<String> = round
        .throttles
        .iter()
        .map(|(op, n)| format!("{op}={n}"))
        .collect();
    println!(
        "  throttled attempts: {}",
        if throttled.is_empty() {
            "0".to_string()
        } else {
            throttled.join(" ")
        }
    );
    let by_operation: Vec<String> = round
        .calls
        .0
        .iter()
        .map(|(op, n)| format!("{op}={n}"))
        .collect();
    println!("  calls: {}", by_operation.join(" "));
}

async fn clean_up(reconciler: &Reconciler, queues: &[SecureQueue], concurrency: u32) {
    let deleted: Vec<bool> = stream::iter(queues)
        .map(|queue| async {
            reconciler
                .delete(queue, &CallLog::default())
                .await
                .finished()
        })
        .buffer_unordered(concurrency as usize)
        .collect()
        .await;
    let left = deleted.iter().filter(|done| !**done).count();
    println!(
        "cleanup: deleted {} of {} SecureQueues' resources",
        deleted.len() - left,
        deleted.len()
    );
}

pub(super) async fn run(args: BenchArgs) -> ExitCode {
    let latency = Duration::from_millis(args.latency_ms);
    let options = ConnectOptions {
        added_latency: (!latency.is_zero()).then_some(latency),
        ..args.aws.connect_options(&args.operator)
    };
    let reconciler = match args.aws.reconciler_over(&args.operator, &options).await {
        Ok(reconciler) => reconciler,
        Err(errors) => {
            for error in errors {
                eprintln!("error: {error}");
            }
            return ExitCode::from(2);
        }
    };
    println!("AWS request budgets: {}", reconciler.quotas().summary());
    if args.simulate_steady_state {
        simulate_steady_state(&args, &reconciler).await
    } else {
        converge(&args, &reconciler).await
    }
}

/// The partition of the operator's role, which the generated SecureQueues' roles share.
fn partition_of(reconciler: &Reconciler) -> String {
    // The operator role was validated, so it parses.
    arn::parse_role(&reconciler.environment().operator_role_arn)
        .map(|role| role.arn.partition.to_string())
        .unwrap_or_else(|_| "aws".to_string())
}

/// `count` SecureQueues for this run, spread over `spread`'s accounts, which the reconciler is
/// bound to for them.
fn generated_for(reconciler: &Reconciler, count: u32, spread: &Spread) -> Vec<SecureQueue> {
    let namespace = run_namespace();
    let partition = partition_of(reconciler);
    if spread.account_of(0).is_some() {
        reconciler.set_accounts(Accounts::of(&spread.bindings(&namespace, &partition)));
    }
    let home = &reconciler.environment().account_id;
    generated(count, &namespace, home, &partition, spread)
}

async fn converge(args: &BenchArgs, reconciler: &Reconciler) -> ExitCode {
    let with_status = !args.without_status;
    if args.accounts > 0 && args.aws.endpoint_url().is_none() {
        eprintln!(
            "error: --accounts: makes up the accounts it binds, which only an emulator plays (--endpoint-url)"
        );
        return ExitCode::from(2);
    }
    let spread = Spread::new(args.accounts);
    let home = reconciler.environment().account_id.clone();
    let queues = generated_for(reconciler, args.queues, &spread);
    let mut fleet = Fleet::new(queues, with_status, &home);
    print_converge_header(args, with_status);
    let region = reconciler.environment().region.clone().unwrap_or_default();
    let strangers = match fill_the_account(args, &region).await {
        Ok(strangers) => strangers,
        Err(why) => {
            eprintln!("error: {why}");
            return ExitCode::from(2);
        }
    };
    let fresh = fresh_round(args, reconciler, &mut fleet, &region).await;
    let first_look = round(reconciler, &mut fleet, args.concurrency).await;
    print_round(
        "first look after create",
        &first_look,
        args,
        LATER_ROUND_TRIPS,
        reconciler,
        None,
    );
    let later = round(reconciler, &mut fleet, args.concurrency).await;
    print_round(
        "later pass",
        &later,
        args,
        LATER_ROUND_TRIPS,
        reconciler,
        None,
    );
    println!(
        "  the design's later pass: {LATER_READS} reads and no writes per queue; measured {:.2} reads, {:.2} writes",
        later.calls.reads() as f64 / f64::from(args.queues),
        later.calls.writes() as f64 / f64::from(args.queues)
    );
    print_peak_rss("over the run");

    if !args.keep {
        clean_up(reconciler, &fleet.queues, args.concurrency).await;
        if let Some(strangers) = strangers {
            strangers.remove().await;
        }
    }
    let all_ready = [&fresh, &first_look, &later]
        .iter()
        .all(|r| r.ready == fleet.queues.len());
    let quiet = first_look.calls.writes() == 0 && later.calls.writes() == 0;
    if all_ready && quiet {
        ExitCode::SUCCESS
    } else {
        eprintln!("not every SecureQueue converged, or a later pass wrote");
        ExitCode::FAILURE
    }
}

/// What the converge bench runs, on one line.
fn print_converge_header(args: &BenchArgs, with_status: bool) {
    println!(
        "bench: {} SecureQueues{}, concurrency {}, added latency {} ms per request{}; converged as {}",
        args.queues,
        if args.accounts > 0 {
            format!(" spread over {} bound accounts", args.accounts)
        } else {
            String::new()
        },
        args.concurrency,
        args.latency_ms,
        args.rival_create_keys_per_second
            .map(|r| format!(", a rival calling CreateKey {r} times a second"))
            .unwrap_or_default(),
        if with_status {
            "the controller does, with a status"
        } else {
            "apply does, without a status"
        }
    );
}

/// The fleet's fresh converge in the emulator's `region`, beside the rival calling CreateKey
/// if one is asked for (and under the heap profiler, if one is), reported.
async fn fresh_round(
    args: &BenchArgs,
    reconciler: &Reconciler,
    fleet: &mut Fleet,
    region: &str,
) -> Round {
    let rival = match args.rival_create_keys_per_second {
        Some(rate) => Some(Rival::start(args.aws.endpoint_url(), region, rate).await),
        None => None,
    };
    #[cfg(feature = "dhat-heap")]
    let profile = args.heap_profile.as_deref().map(heap::HeapProfile::start);
    let fresh = round(reconciler, fleet, args.concurrency).await;
    #[cfg(feature = "dhat-heap")]
    drop(profile);
    let mut rival_rate = None;
    if let Some(rival) = rival {
        let done = rival.stop().await;
        let rate = done.created.len() as f64 / fresh.wall.as_secs_f64();
        println!(
            "rival: {} CreateKey requests, {} keys made ({rate:.2} a second; scheduled for deletion)",
            done.attempted,
            done.created.len()
        );
        rival_rate = Some(rate);
    }
    let with_status = !args.without_status;
    // Without a status, the orphan search's listings are one more round trip.
    let trips = FRESH_ROUND_TRIPS + u32::from(!with_status);
    print_round(
        "fresh converge",
        &fresh,
        args,
        trips,
        reconciler,
        rival_rate,
    );
    print_fresh_minimum(&fresh.calls, args.queues, with_status);
    print_peak_rss("after the fresh converge");
    fresh
}

/// The strangers' keys and aliases `--foreign-keys` and `--foreign-aliases` ask for, made in
/// the emulator's `region`; `None` when they ask for none.
async fn fill_the_account(args: &BenchArgs, region: &str) -> Result<Option<Strangers>, String> {
    if args.foreign_keys == 0 && args.foreign_aliases == 0 {
        return Ok(None);
    }
    let Some(endpoint) = args.aws.endpoint_url() else {
        return Err("--foreign-keys: fills the region with keys, which cost money in AWS: only against an emulator (--endpoint-url)".to_string());
    };
    if args.foreign_aliases > args.foreign_keys {
        return Err(format!(
            "--foreign-aliases: {} aliases need as many --foreign-keys, not {}",
            args.foreign_aliases, args.foreign_keys
        ));
    }
    let started = Instant::now();
    let strangers =
        Strangers::make(endpoint, region, args.foreign_keys, args.foreign_aliases).await?;
    println!(
        "the account holds {} keys of other teams, {} of them aliased (made in {:.1} s)",
        args.foreign_keys,
        args.foreign_aliases,
        started.elapsed().as_secs_f64()
    );
    Ok(Some(strangers))
}

/// Measures a later pass's reads on a few real SecureQueues, then simulates the resyncs.
async fn simulate_steady_state(args: &BenchArgs, reconciler: &Reconciler) -> ExitCode {
    const SAMPLE: u32 = 3;
    let home = reconciler.environment().account_id.clone();
    let queues = generated_for(reconciler, SAMPLE, &Spread::default());
    let mut sample = Fleet::new(queues, !args.without_status, &home);
    // A fresh converge and the first look; then two later passes, which read the tags of
    // different resources in turn: each operation counts at its most.
    let mut rounds = Vec::new();
    for _ in 0..4 {
        rounds.push(round(reconciler, &mut sample, SAMPLE).await);
    }
    if !args.keep {
        clean_up(reconciler, &sample.queues, SAMPLE).await;
    }
    if let Some(failed) = rounds.iter().find(|r| r.ready != sample.queues.len()) {
        eprintln!(
            "the sample SecureQueues did not converge: {:?}",
            failed.not_ready
        );
        return ExitCode::FAILURE;
    }
    let mut per_pass = CallCounts::default();
    for later in &rounds[2..] {
        for (op, n) in &later.calls.0 {
            let per_queue = n.div_ceil(u64::from(SAMPLE));
            let most = per_pass.0.entry(op.clone()).or_default();
            *most = (*most).max(per_queue);
        }
    }
    let window = Duration::from_secs(args.resync_seconds);
    let count = args.queues as usize;
    let measured = steady::simulate(count, window, &per_pass, reconciler.quotas());
    if steady::report(&measured, count, window) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_queues_are_valid_and_distinct() {
        let queues = generated(3, "bench-1", "111122223333", "aws", &Spread::default());
        let env = crate::resolve::Environment {
            account_id: "111122223333".into(),
            region: Some("us-east-1".into()),
            operator_role_arn: "arn:aws:iam::111122223333:role/op".into(),
            cluster_id: "bench".into(),
            allow_cross_account: false,
            guardrails: Default::default(),
        };
        let names: std::collections::BTreeSet<String> = queues
            .iter()
            .map(|q| crate::plan::build(q, &env).unwrap().queue.name)
            .collect();
        assert_eq!(names.len(), 3);
    }
}
