//! When each SecureQueue's next resync comes: spread evenly over the resync window, so that the
//! steady-state reads of thousands of SecureQueues make a flat rate instead of a wave that
//! repeats every window.
//!
//! Each SecureQueue gets a slot, the lowest free one, when first seen, and keeps it until it is
//! deleted. Slot `k` has the phase `frac(k × φ) × window`, φ being the golden ratio's fractional
//! part: however many slots are taken, their phases cut the window into gaps of at most three
//! lengths (the three-gap theorem), so the resyncs are close to evenly spaced without ever
//! moving a SecureQueue that already has a phase. A pass ends by resyncing at the first moment
//! of its phase at least half a window away, give or take a jitter of at most a tenth of the
//! spacing between slots (more would blur the even spacing), so that no two SecureQueues keep
//! landing on the same instant.
//!
//! Random per-object phases (a hash of the uid) are not flat enough: at 16 resyncs a second
//! the count in each second varies by about ±25% (one standard deviation of a Poisson count).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

/// The golden ratio's fractional part.
const PHI: f64 = 0.618_033_988_749_894_9;

/// The most a resync is moved off its phase.
const MAX_JITTER: Duration = Duration::from_secs(1);

/// The slots of the SecureQueues the controller knows, and the window they share.
#[derive(Debug)]
pub struct Spread {
    window: Duration,
    slots: Mutex<Slots>,
}

#[derive(Debug, Default)]
struct Slots {
    by_uid: HashMap<String, u64>,
    free: BTreeSet<u64>,
    next: u64,
}

impl Slots {
    fn of(&mut self, uid: &str) -> u64 {
        if let Some(slot) = self.by_uid.get(uid) {
            return *slot;
        }
        let slot = self.free.pop_first().unwrap_or_else(|| {
            self.next += 1;
            self.next - 1
        });
        self.by_uid.insert(uid.to_string(), slot);
        slot
    }
}

impl Spread {
    /// Slots spread over `window`, the resync interval.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            slots: Mutex::default(),
        }
    }

    /// The phase of slot `k` in the window.
    fn phase(&self, slot: u64) -> Duration {
        self.window.mul_f64((slot as f64 * PHI).fract())
    }

    /// How long after `now` (time since the controller started) the SecureQueue `uid` resyncs;
    /// `jitter_seed` picks its jitter.
    pub fn delay(&self, uid: &str, now: Duration, jitter_seed: u64) -> Duration {
        let (slot, taken) = {
            let mut slots = self.slots.lock().expect("spread slots");
            let slot = slots.of(uid);
            (slot, slots.by_uid.len())
        };
        let phase = self.phase(slot);
        let earliest = now + self.window / 2;
        let window = self.window.as_secs_f64();
        let cycles = ((earliest.as_secs_f64() - phase.as_secs_f64()) / window).ceil();
        let at = phase + self.window.mul_f64(cycles.max(0.0));
        let spacing = self.window / u32::try_from(taken).unwrap_or(u32::MAX);
        let reach = (spacing / 10).min(MAX_JITTER);
        // A jitter in [-reach, +reach].
        let fraction = (jitter_seed % 2001) as f64 / 1000.0 - 1.0;
        let jittered = if fraction >= 0.0 {
            at + reach.mul_f64(fraction)
        } else {
            at.saturating_sub(reach.mul_f64(-fraction))
        };
        jittered.saturating_sub(now)
    }

    /// Frees the slot of a SecureQueue that is gone.
    pub fn release(&self, uid: &str) {
        let mut slots = self.slots.lock().expect("spread slots");
        if let Some(slot) = slots.by_uid.remove(uid) {
            slots.free.insert(slot);
        }
    }

    /// How many SecureQueues hold a slot.
    pub fn len(&self) -> usize {
        self.slots.lock().expect("spread slots").by_uid.len()
    }

    /// Whether no SecureQueue holds a slot.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The resync starts per second of a simulated steady state: `count` SecureQueues all
/// reconciled at time zero (the controller's start), each then resyncing when [`Spread`] says,
/// over `windows` resync windows of virtual time. The result holds one count per second.
pub fn simulate(count: usize, window: Duration, windows: u32) -> Vec<u32> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    let spread = Spread::new(window);
    let end = window * windows;
    let mut per_second = vec![0u32; end.as_secs() as usize];
    let mut due: BinaryHeap<Reverse<(Duration, usize)>> =
        (0..count).map(|i| Reverse((Duration::ZERO, i))).collect();
    let mut passes = 0u64;
    while let Some(Reverse((at, i))) = due.pop() {
        if at >= end {
            break;
        }
        per_second[at.as_secs() as usize] += 1;
        passes += 1;
        let seed = passes.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
        due.push(Reverse((at + spread.delay(&i.to_string(), at, seed), i)));
    }
    per_second
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_resync_comes_at_its_phase_at_least_half_a_window_later() {
        let spread = Spread::new(10 * MINUTE);
        // Slot 0 has phase 0; no jitter at the middle seed.
        let first = spread.delay("a", Duration::ZERO, 1000);
        assert_eq!(first, 10 * MINUTE);
        assert_eq!(spread.delay("a", 10 * MINUTE, 1000), 10 * MINUTE);
        // Slot 1's phase is 0.618 of the window: more than half a window away from the start.
        let second = spread.delay("b", Duration::ZERO, 1000);
        assert_eq!(second, (10 * MINUTE).mul_f64(PHI));
    }

    #[test]
    fn a_freed_slot_is_taken_by_the_next_newcomer() {
        let spread = Spread::new(MINUTE);
        for uid in ["a", "b", "c"] {
            spread.delay(uid, Duration::ZERO, 1000);
        }
        spread.release("b");
        assert_eq!(spread.len(), 2);
        let d = spread.delay("d", Duration::ZERO, 1000);
        assert_eq!(d, MINUTE.mul_f64(PHI));
    }

    #[test]
    fn jitter_stays_within_a_tenth_of_the_spacing_between_slots() {
        let spread = Spread::new(10 * MINUTE);
        for i in 0..1000 {
            spread.delay(&i.to_string(), Duration::ZERO, 1000);
        }
        // 1000 slots in 600 s: 0.6 s apart, so at most 60 ms either way.
        let centre = spread.delay("0", Duration::ZERO, 1000);
        let low = spread.delay("0", Duration::ZERO, 0);
        let high = spread.delay("0", Duration::ZERO, 2000);
        assert_eq!(centre - low, Duration::from_millis(60));
        assert_eq!(high - centre, Duration::from_millis(60));
    }

    #[test]
    fn ten_thousand_resyncs_make_a_flat_rate_after_the_first_window() {
        let per_second = simulate(10_000, 10 * MINUTE, 3);
        let after_first = &per_second[600..];
        let mean = 10_000.0 / 600.0;
        let (min, max) = after_first
            .iter()
            .fold((u32::MAX, 0), |(lo, hi), n| (lo.min(*n), hi.max(*n)));
        assert!(
            f64::from(min) >= mean * 0.8 && f64::from(max) <= mean * 1.2,
            "per-second starts range {min}..{max} around {mean:.1}"
        );
        // Every SecureQueue resyncs once per window (jitter may move one across its edge).
        let second_window: u32 = per_second[600..1200].iter().sum();
        assert!(second_window.abs_diff(10_000) <= 2, "{second_window}");
    }

    #[test]
    fn the_start_up_wave_does_not_come_back_a_window_later() {
        // A fixed requeue after the window would start all 10,000 again in these seconds.
        let per_second = simulate(10_000, 10 * MINUTE, 3);
        assert_eq!(per_second[0], 10_000);
        assert!(
            per_second[600] < 20 && per_second[1200] < 20,
            "{per_second:?}"
        );
    }
}
