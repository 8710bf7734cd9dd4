//! Pacing per AWS service: when a service throttles, every call to it slows down, not just the
//! call that was throttled.
//!
//! AWS throttles an account's requests to a service (per API, per region) as a whole, so when
//! hundreds of SecureQueues converge at once, retrying each throttled call on its own only adds
//! load. Each service and region has one [`Pacer`], shared by every pass of the process:
//!
//! - unpaced until the service throttles;
//! - at a throttle, the pace drops to half the rate of the last second (at least
//!   [`MIN_RATE`]); throttles within [`CUT_SPACING`] of a cut are answers to requests sent before
//!   it, and cut nothing more;
//! - each second without a throttle raises the pace by [`RAISE`]; after [`RELEASE_AFTER`]
//!   without one, the pacer lets requests go unpaced again.
//!
//! A paced call waits for its turn before the SDK sends it, outside the SDK's attempt timeout,
//! so a long queue never looks like a hung request. The [`ThrottleWatch`] interceptor reports
//! every throttled attempt, retries included. The SDK's own retries (4 attempts, exponential
//! backoff with jitter) still apply to each call.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use super::error::is_throttling_code;

/// The slowest pace, in requests per second.
pub const MIN_RATE: f64 = 1.0;
/// How much a throttle cuts the pace: to this share of the rate of the last second.
const CUT: f64 = 0.5;
/// Throttles this soon after a cut answer requests sent before it.
pub const CUT_SPACING: Duration = Duration::from_secs(1);
/// How much each second without a throttle raises the pace.
pub const RAISE: f64 = 1.25;
/// How long without a throttle before requests go unpaced again.
pub const RELEASE_AFTER: Duration = Duration::from_secs(60);

/// The pace of one service in one region.
#[derive(Debug)]
pub struct Pacer {
    service: &'static str,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Requests per second allowed; `None` while unpaced.
    rate: Option<f64>,
    /// When the next paced request may go.
    next_free: Instant,
    /// When the pace was last cut.
    last_cut: Option<Instant>,
    /// When the pace was last raised.
    last_raise: Instant,
    /// When the requests of about the last second went (or will go).
    sent: VecDeque<Instant>,
    /// Throttled attempts seen, ever.
    throttles: u64,
    /// Times the pace was cut, ever.
    cuts: u64,
}

/// What a pacer is doing, for metrics and tests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PaceSnapshot {
    /// Requests per second allowed; `None` while unpaced.
    pub rate: Option<f64>,
    /// Throttled attempts seen since the process started.
    pub throttles: u64,
    /// Times the pace was cut since the process started (it goes unpaced again after a quiet
    /// minute, so `rate` alone does not say whether pacing ever engaged).
    pub cuts: u64,
}

impl Pacer {
    /// An unpaced pacer for `service` (`kms`, `sqs`).
    pub fn new(service: &'static str) -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Self {
            service,
            state: Mutex::new(State {
                rate: None,
                next_free: now,
                last_cut: None,
                last_raise: now,
                sent: VecDeque::new(),
                throttles: 0,
                cuts: 0,
            }),
        })
    }

    /// Waits until a request may go.
    pub async fn wait(&self) {
        let delay = self.reserve(Instant::now());
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    /// Takes the next turn at or after `now`; returns how long to wait for it.
    pub fn reserve(&self, now: Instant) -> Duration {
        let mut state = self.state.lock().expect("pacer");
        while state
            .sent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= Duration::from_secs(1))
        {
            state.sent.pop_front();
        }
        let slot = match state.rate {
            None => now,
            Some(rate) => {
                let slot = state.next_free.max(now);
                state.next_free = slot + Duration::from_secs_f64(1.0 / rate);
                slot
            }
        };
        state.sent.push_back(slot);
        slot - now
    }

    /// AWS throttled an attempt at `now`.
    pub fn throttled(&self, now: Instant) {
        let mut state = self.state.lock().expect("pacer");
        state.throttles += 1;
        if state
            .last_cut
            .is_some_and(|cut| now.saturating_duration_since(cut) < CUT_SPACING)
        {
            return;
        }
        let last_second = state
            .sent
            .iter()
            .filter(|t| **t <= now && now.saturating_duration_since(**t) < Duration::from_secs(1))
            .count() as f64;
        let base = state.rate.map_or(last_second, |rate| rate.min(last_second));
        let rate = (base * CUT).max(MIN_RATE);
        tracing::warn!(
            service = self.service,
            requests_per_second = rate,
            "AWS throttled: pacing every call to the service"
        );
        state.rate = Some(rate);
        state.cuts += 1;
        state.last_cut = Some(now);
        state.last_raise = now;
    }

    /// An attempt at `now` was not throttled.
    pub fn succeeded(&self, now: Instant) {
        let mut state = self.state.lock().expect("pacer");
        let Some(rate) = state.rate else {
            return;
        };
        if state
            .last_cut
            .is_some_and(|cut| now.saturating_duration_since(cut) >= RELEASE_AFTER)
        {
            tracing::info!(service = self.service, "no throttling for a while: unpaced");
            state.rate = None;
            return;
        }
        if now.saturating_duration_since(state.last_raise) >= Duration::from_secs(1) {
            state.rate = Some(rate * RAISE);
            state.last_raise = now;
        }
    }

    /// What the pacer is doing.
    pub fn snapshot(&self) -> PaceSnapshot {
        let state = self.state.lock().expect("pacer");
        PaceSnapshot {
            rate: state.rate,
            throttles: state.throttles,
            cuts: state.cuts,
        }
    }
}

/// An SDK client whose requests wait for their service's pace.
#[derive(Clone, Debug)]
pub struct Paced<C> {
    client: C,
    pacer: Arc<Pacer>,
}

impl<C> Paced<C> {
    /// Puts `client`'s requests under `pacer`.
    pub fn new(client: C, pacer: Arc<Pacer>) -> Self {
        Self { client, pacer }
    }

    /// The client, once the pace lets a request go.
    pub async fn paced(&self) -> &C {
        self.pacer.wait().await;
        &self.client
    }

    /// What the pacer is doing.
    pub fn pace(&self) -> PaceSnapshot {
        self.pacer.snapshot()
    }
}

/// The interceptor telling a service's [`Pacer`] how each attempt went.
#[derive(Debug)]
pub struct ThrottleWatch(pub Arc<Pacer>);

impl Intercept for ThrottleWatch {
    fn name(&self) -> &'static str {
        "securequeue::ThrottleWatch"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(response) = context.response() else {
            return Ok(());
        };
        let now = Instant::now();
        let status = response.status().as_u16();
        let header_code = ["x-amzn-query-error", "x-amzn-errortype"]
            .iter()
            .find_map(|name| response.headers().get(*name))
            .map(|value| {
                value
                    .split([';', ':'])
                    .next()
                    .unwrap_or_default()
                    .to_string()
            });
        let body_code = response
            .body()
            .bytes()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(bytes).ok())
            .and_then(|body| body.get("__type")?.as_str().map(str::to_string));
        let throttled = status == 429
            || [header_code, body_code]
                .iter()
                .flatten()
                .any(|code| is_throttling_code(code));
        if throttled {
            self.0.throttled(now);
        } else {
            self.0.succeeded(now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn requests_go_at_once_until_the_service_throttles() {
        let pacer = Pacer::new("kms");
        let now = Instant::now();
        for _ in 0..100 {
            assert_eq!(pacer.reserve(now), Duration::ZERO);
        }
        assert_eq!(pacer.snapshot().rate, None);
    }

    #[test]
    fn a_throttle_paces_every_request_at_half_the_last_seconds_rate() {
        let pacer = Pacer::new("kms");
        let start = Instant::now();
        for i in 0..40 {
            pacer.reserve(start + ms(i * 20));
        }
        let now = start + ms(800);
        pacer.throttled(now);
        assert_eq!(pacer.snapshot().rate, Some(20.0));
        // Turns 50 ms apart, in order, however many ask at once.
        let waits: Vec<_> = (0..4).map(|_| pacer.reserve(now)).collect();
        assert_eq!(waits, [ms(0), ms(50), ms(100), ms(150)]);
    }

    #[test]
    fn throttles_right_after_a_cut_do_not_cut_again() {
        let pacer = Pacer::new("sqs");
        let start = Instant::now();
        for i in 0..10 {
            pacer.reserve(start + ms(i));
        }
        pacer.throttled(start + ms(10));
        let rate = pacer.snapshot().rate;
        for i in 0..5 {
            pacer.throttled(start + ms(20 + i));
        }
        assert_eq!(pacer.snapshot().rate, rate);
        assert_eq!(pacer.snapshot().throttles, 6);
        pacer.throttled(start + CUT_SPACING + ms(20));
        assert!(pacer.snapshot().rate < rate);
    }

    #[test]
    fn the_pace_never_drops_below_the_minimum() {
        let pacer = Pacer::new("kms");
        let start = Instant::now();
        for i in 0..5 {
            pacer.throttled(start + CUT_SPACING * i);
        }
        assert_eq!(pacer.snapshot().rate, Some(MIN_RATE));
    }

    #[test]
    fn quiet_seconds_raise_the_pace_and_a_quiet_minute_releases_it() {
        let pacer = Pacer::new("kms");
        let start = Instant::now();
        pacer.throttled(start);
        assert_eq!(pacer.snapshot().rate, Some(MIN_RATE));
        pacer.succeeded(start + ms(500));
        assert_eq!(pacer.snapshot().rate, Some(MIN_RATE));
        pacer.succeeded(start + ms(1_000));
        assert_eq!(pacer.snapshot().rate, Some(MIN_RATE * RAISE));
        pacer.succeeded(start + RELEASE_AFTER);
        assert_eq!(pacer.snapshot().rate, None);
        assert_eq!(pacer.reserve(start + RELEASE_AFTER), Duration::ZERO);
    }
}
