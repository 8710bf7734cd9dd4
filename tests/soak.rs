//! Kill anywhere: `securequeue run` on the test API server converges a wave of new SecureQueues
//! against an emulator of its own in quota mode, and is killed with SIGKILL at random moments,
//! each kill followed at once by a restart, as a crash-looping pod is; once during the wave the
//! API server restarts, and once the emulator (its state kept). At the end every SecureQueue is
//! Ready, and the emulator holds, per SecureQueue, exactly one key, one dead-letter queue and
//! one queue, counted by their tags and by the key's description or the queues' names, and
//! nothing else: no orphan.
//!
//! CI runs 40 SecureQueues and 5 kills and asserts those invariants. `tests/bench/soak.sh` runs
//! 500 and 20 and prints the figures: set `SECUREQUEUE_SOAK_QUEUES`, `SECUREQUEUE_SOAK_KILLS`,
//! and `SECUREQUEUE_SOAK_SEED` to replay a run's kill moments.

mod common;
mod emulator;
mod kill_anywhere;

use std::time::{Duration, Instant};

use emulator::unique_namespace;
use kill_anywhere::census::Census;
use kill_anywhere::emulator_process::EmulatorProcess;
use kill_anywhere::wave::{Schedule, Wave};

/// The number the environment variable `name` holds; `default` when unset or empty.
fn setting(name: &str, default: u64) -> u64 {
    let value = std::env::var(name).ok().filter(|v| !v.is_empty());
    value.map_or(default, |v| {
        v.parse().unwrap_or_else(|_| panic!("{name}={v}: a number"))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_anywhere_every_secure_queue_ends_ready_with_exactly_its_resources() {
    let queues = setting("SECUREQUEUE_SOAK_QUEUES", 40) as usize;
    let kills = setting("SECUREQUEUE_SOAK_KILLS", 5) as usize;
    let seed = setting(
        "SECUREQUEUE_SOAK_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    );
    let dir = common::repo_path("target/soak");
    std::fs::create_dir_all(&dir).unwrap();
    let mut emulator = EmulatorProcess::start(&dir);
    let client = common::cluster::with_crds().await;
    let namespace = unique_namespace("soak");
    common::cluster::create_namespace(&client, &namespace).await;
    let schedule = Schedule::random(seed, queues, kills);
    println!("soak: {queues} SecureQueues, {kills} kills, seed {seed}: {schedule}");

    let started = Instant::now();
    let mut wave = Wave::start(&client, &namespace, &emulator.endpoint(), &dir, queues).await;
    let throttled_before = wave.run(&schedule, &mut emulator).await;
    let ready = wave
        .all_ready(Duration::from_secs(120 + queues as u64))
        .await;
    let took = started.elapsed();
    let census = Census::take(&emulator.endpoint()).await;
    println!(
        "soak: {}/{queues} Ready {:.1} s after the first create; the operator exited on its own {} times; {}",
        ready.len(),
        took.as_secs_f64(),
        wave.exits,
        census.summary(queues, kills, throttled_before)
    );
    assert_eq!(ready.len(), queues, "every SecureQueue ends Ready");
    census.assert_exactly_one_each(&ready);
}
