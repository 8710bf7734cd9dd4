//! Request budgets: each AWS operation in each region keeps to its own rate, known before the
//! first call, as AWS counts its quotas (per operation, per account and region).
//!
//! A [`Budget`] spaces the requests of one operation evenly at its rate, and serves them in the
//! order they asked (first come, first served), so a backlog of new SecureQueues waiting for
//! `kms:CreateKey` is worked off in arrival order, while every other operation, the reads of
//! steady-state passes included, keeps its own pace.
//!
//! The rate starts at the operator's share of AWS's documented quota
//! ([`super::request_quota`]). Other clients of the account share that quota, so AWS may still
//! throttle: a throttle cuts that one operation's rate by [`DECREASE`], and each second without
//! one raises it again by [`INCREASE`] of its budget, up to the budget (AIMD). An operation with
//! no known quota goes unpaced until AWS throttles it; then it is paced the same way from half
//! the rate of its last second, and unpaced again after [`RELEASE_AFTER`] without a throttle.
//!
//! Spacing alone holds against a token bucket, but AWS does not document how it counts "per
//! second" (<https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html>
//! says only that a quota is requests per second, shared by the account in the Region). Under
//! the strictest reading, at most N requests in any one-second window, evenly spaced requests
//! at N a second put N + 1 in a closed window. So a request also waits until fewer than the
//! rate, rounded up, are in the last [`WINDOW`]. A request is in the window from when it left
//! until a window after its answer came: AWS counted it at some moment between the two, and
//! which one depends on the network and on AWS, never on us. Counted from when it left, a
//! request AWS stamps late (a slow path, a busy endpoint) puts one more in AWS's window than in
//! ours; counted from its answer, none can.
//!
//! A throttled request is not retried by the SDK, whose retries would bypass the budget: it
//! waits for its turn again ([`Paced::send`]), up to [`REQUEUES`] times. The wait for a turn
//! happens before the SDK sends the request, outside its attempt timeout, so a long queue never
//! looks like a hung request.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    FinalizerInterceptorContextRef, InterceptorContext,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tokio::time::Instant;

use super::error::is_throttling_code;
use super::queued;
use super::request_quota::{QuotaSettings, Service};

/// A throttle cuts an operation's rate to this share of what it was.
pub const DECREASE: f64 = 0.7;
/// Each second without a throttle raises the rate by this share of the budget.
pub const INCREASE: f64 = 0.05;
/// The slowest rate a throttle can cut to, requests per second.
pub const MIN_RATE: f64 = 0.5;
/// Throttles this soon after a cut answer requests sent before it, and cut nothing more.
pub const CUT_SPACING: Duration = Duration::from_secs(1);
/// How long an operation with no known quota stays paced after its last throttle.
pub const RELEASE_AFTER: Duration = Duration::from_secs(60);
/// No more requests than the rate, rounded up, are in any window this long, each from when it
/// left until this long after its answer: one second, and the timer's granularity.
pub const WINDOW: Duration = Duration::from_millis(1010);
/// How many times a throttled request waits for its turn again before the throttle is reported.
pub const REQUEUES: u32 = 8;
/// Requests of one service in one region in flight at once, however many passes run: each
/// holds a connection and its buffers, so a thousand passes at once do not open a thousand
/// connections (measured: at 1,000 the emulator timed out a third of them and the operator's
/// memory reached 298 MiB).
pub const MAX_IN_FLIGHT: usize = 64;

/// The pace of one operation in one region.
#[derive(Debug)]
pub struct Budget {
    operation: String,
    /// The operator's share of the quota; `None` when AWS documents none.
    budget: Option<f64>,
    state: Mutex<State>,
    /// Held by the request whose turn is next, so turns go in the order they were asked for.
    turn: tokio::sync::Mutex<()>,
    waiting: AtomicUsize,
    /// Woken when an answer comes, for the turn that waits for its window to open.
    answered: tokio::sync::Notify,
}

#[derive(Debug)]
struct State {
    /// Requests per second allowed now; `None` while unpaced.
    rate: Option<f64>,
    /// When the next request may go.
    next_free: Instant,
    /// When the rate was last cut.
    last_cut: Option<Instant>,
    /// When the rate was last raised (or cut).
    last_raise: Instant,
    /// The requests in flight, or answered within the last [`WINDOW`], in the order they went.
    sent: VecDeque<Sent>,
    /// The number the next request's [`Sent`] gets.
    next_id: u64,
    throttles: u64,
    cuts: u64,
    requests: u64,
}

/// One request in the window.
#[derive(Debug)]
struct Sent {
    id: u64,
    /// When it went, or is to go.
    went: Instant,
    /// When its answer came; `None` while it is in flight.
    answered: Option<Instant>,
}

impl State {
    /// The earliest a request may go with fewer than `rate`, rounded up, in its window: `None`
    /// while so many are in flight that only an answer can open it.
    fn window_opens(&self, rate: f64, now: Instant) -> Option<Instant> {
        let most = (rate.ceil() as usize).max(1);
        if self.sent.len() < most {
            return Some(now);
        }
        let in_flight = self.sent.iter().filter(|s| s.answered.is_none()).count();
        let mut leave: Vec<Instant> = self
            .sent
            .iter()
            .filter_map(|s| s.answered.map(|answered| answered + WINDOW))
            .filter(|leaves| *leaves > now)
            .collect();
        let within = in_flight + leave.len();
        if within < most {
            return Some(now);
        }
        if in_flight >= most {
            return None;
        }
        // Enough answered ones must leave the window that fewer than `most` remain.
        leave.sort_unstable();
        Some(leave[within - most])
    }

    /// Request `id` in the window, if it is still there: the window is in the order of the
    /// numbers, which only grow, so it is found by bisection on every answer, not by a scan.
    fn sent_mut(&mut self, id: u64) -> Option<&mut Sent> {
        let index = self.sent.binary_search_by_key(&id, |s| s.id).ok()?;
        self.sent.get_mut(index)
    }

    /// Forgets the answered requests that left the window by `now`.
    fn prune(&mut self, now: Instant) {
        self.sent
            .retain(|s| s.answered.is_none_or(|answered| now < answered + WINDOW));
    }
}

/// What a budget is doing, for metrics, the start-up log and tests.
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetSnapshot {
    /// `service:Operation`.
    pub operation: String,
    /// The operator's share of the quota, requests per second; `None` when AWS documents none.
    pub budget: Option<f64>,
    /// The rate allowed now; `None` while unpaced.
    pub rate: Option<f64>,
    /// Requests waiting for their turn.
    pub waiting: usize,
    /// Requests sent since the process started.
    pub requests: u64,
    /// Attempts AWS throttled since the process started.
    pub throttles: u64,
    /// Times a throttle cut the rate since the process started.
    pub cuts: u64,
}

/// A request's turn at its operation's budget, held until the request goes.
#[must_use = "the turn is given up when dropped; call go() when the request is sent"]
pub struct Turn<'a> {
    budget: &'a Budget,
    /// Its request's number in the window.
    id: u64,
    /// When the turn came.
    at: Instant,
    /// The operation's turn lock, when it is paced: the next request waits until this one goes.
    _held: Option<tokio::sync::MutexGuard<'a, ()>>,
    /// Whether its request went; a turn given up without is forgotten by the window.
    went: bool,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if !self.went {
            let mut state = self.budget.state.lock().expect("budget");
            if let Ok(index) = state.sent.binary_search_by_key(&self.id, |s| s.id) {
                state.sent.remove(index);
            }
            drop(state);
            self.budget.answered.notify_one();
        }
    }
}

/// A request that goes this much after its turn came went late (the timer's own granularity is
/// a millisecond).
const LATE: Duration = Duration::from_millis(10);

impl<'a> Turn<'a> {
    /// The request goes now: if late (it waited for a place in flight), the operation's next
    /// turn comes no sooner than one spacing after now. It stays in the window until a
    /// [`WINDOW`] after the returned [`Flight`] is dropped, which says its answer came.
    pub fn go(mut self) -> Flight<'a> {
        self.went = true;
        let now = Instant::now();
        if now.saturating_duration_since(self.at) >= LATE {
            let mut state = self.budget.state.lock().expect("budget");
            if let Some(rate) = state.rate {
                let earliest = now + Duration::from_secs_f64(1.0 / rate);
                state.next_free = state.next_free.max(earliest);
            }
            if let Some(sent) = state.sent_mut(self.id) {
                sent.went = now;
            }
        }
        Flight {
            budget: self.budget,
            id: self.id,
        }
    }
}

/// A request in flight; dropped when its answer came (or it was given up).
#[must_use = "the request's answer is taken to have come when this is dropped"]
pub struct Flight<'a> {
    budget: &'a Budget,
    id: u64,
}

/// Its answer came now (or it was given up): it leaves the window a [`WINDOW`] from now, and
/// the turn waiting for the window to open may look again.
impl Drop for Flight<'_> {
    fn drop(&mut self) {
        let now = Instant::now();
        let mut state = self.budget.state.lock().expect("budget");
        if let Some(sent) = state.sent_mut(self.id) {
            sent.answered = Some(now);
        }
        drop(state);
        self.budget.answered.notify_one();
    }
}

/// Decrements the waiting count when a wait ends, however it ends.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Budget {
    /// A budget for `operation` (`kms:CreateKey`) of `budget` requests per second, or unpaced
    /// until throttled when `None`.
    pub fn new(operation: String, budget: Option<f64>) -> Self {
        let now = Instant::now();
        Self {
            operation,
            budget,
            state: Mutex::new(State {
                rate: budget,
                next_free: now,
                last_cut: None,
                last_raise: now,
                sent: VecDeque::new(),
                next_id: 0,
                throttles: 0,
                cuts: 0,
                requests: 0,
            }),
            turn: tokio::sync::Mutex::new(()),
            waiting: AtomicUsize::new(0),
            answered: tokio::sync::Notify::new(),
        }
    }

    /// Waits for this request's turn. While it waits, the pass's [`queued`] watch says what it
    /// is queued for and behind how many others. The turn is held, and the next request of the
    /// operation waits, until [`Turn::go`].
    pub async fn wait(&self) -> Turn<'_> {
        let rate = self.state.lock().expect("budget").rate;
        let Some(rate) = rate else {
            let now = Instant::now();
            let (id, _) = self.reserve(now).expect("an unpaced turn comes at once");
            return Turn {
                budget: self,
                id,
                at: now,
                _held: None,
                went: false,
            };
        };
        let ahead = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _waiting = Waiting(&self.waiting);
        queued::note(&self.operation, ahead, rate);
        let held = self.turn.lock().await;
        let (id, at) = loop {
            let now = Instant::now();
            match self.reserve(now) {
                Some((id, delay)) => {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    break (id, now + delay);
                }
                None => self.answered.notified().await,
            }
        };
        queued::clear();
        Turn {
            budget: self,
            id,
            at,
            _held: Some(held),
            went: false,
        }
    }

    /// Takes the next turn at or after `now`: its request's number and how long to wait for it;
    /// `None` while so many requests are in flight that only an answer can open the window.
    fn reserve(&self, now: Instant) -> Option<(u64, Duration)> {
        let mut state = self.state.lock().expect("budget");
        state.prune(now);
        let slot = match state.rate {
            None => now,
            Some(rate) => {
                let slot = state.next_free.max(state.window_opens(rate, now)?);
                state.next_free = slot + Duration::from_secs_f64(1.0 / rate);
                slot
            }
        };
        let id = state.next_id;
        state.next_id += 1;
        state.sent.push_back(Sent {
            id,
            went: slot,
            answered: None,
        });
        state.requests += 1;
        Some((id, slot - now))
    }

    /// AWS throttled an attempt at `now`: cut the rate, unless a cut just happened.
    pub fn throttled(&self, now: Instant) {
        let mut state = self.state.lock().expect("budget");
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
            .filter(|s| {
                s.went <= now && now.saturating_duration_since(s.went) < Duration::from_secs(1)
            })
            .count() as f64;
        let rate = state
            .rate
            .map_or(last_second * 0.5, |rate| rate * DECREASE)
            .max(MIN_RATE);
        tracing::warn!(
            operation = %self.operation,
            requests_per_second = rate,
            "AWS throttled: this operation slows down"
        );
        state.rate = Some(rate);
        state.cuts += 1;
        state.last_cut = Some(now);
        state.last_raise = now;
    }

    /// An attempt at `now` was not throttled: raise the rate once a second, up to the budget;
    /// release an operation without a budget after a quiet [`RELEASE_AFTER`].
    pub fn succeeded(&self, now: Instant) {
        let mut state = self.state.lock().expect("budget");
        let (Some(rate), Some(cut)) = (state.rate, state.last_cut) else {
            return;
        };
        match self.budget {
            Some(budget) if rate < budget => {
                if now.saturating_duration_since(state.last_raise) >= Duration::from_secs(1) {
                    state.rate = Some((rate + budget * INCREASE).min(budget));
                    state.last_raise = now;
                }
            }
            Some(_) => {}
            None if now.saturating_duration_since(cut) >= RELEASE_AFTER => {
                tracing::info!(operation = %self.operation, "no throttling for a while: unpaced");
                state.rate = None;
            }
            None => {
                if now.saturating_duration_since(state.last_raise) >= Duration::from_secs(1) {
                    state.rate = Some(rate * (1.0 + INCREASE));
                    state.last_raise = now;
                }
            }
        }
    }

    /// What the budget is doing.
    pub fn snapshot(&self) -> BudgetSnapshot {
        let state = self.state.lock().expect("budget");
        BudgetSnapshot {
            operation: self.operation.clone(),
            budget: self.budget,
            rate: state.rate,
            waiting: self.waiting.load(Ordering::SeqCst),
            requests: state.requests,
            throttles: state.throttles,
            cuts: state.cuts,
        }
    }
}

/// The budgets of one service in one region, one per operation.
#[derive(Debug)]
pub struct Budgets {
    service: Service,
    by_operation: BTreeMap<&'static str, Arc<Budget>>,
    in_flight: tokio::sync::Semaphore,
}

impl Budgets {
    /// A budget for every operation of `service` the operator calls.
    pub fn new(service: Service, settings: &QuotaSettings) -> Arc<Self> {
        let by_operation = service
            .operations()
            .into_iter()
            .map(|op| {
                let name = format!("{service}:{op}");
                (
                    op,
                    Arc::new(Budget::new(name, settings.budget(service, op))),
                )
            })
            .collect();
        Arc::new(Self {
            service,
            by_operation,
            in_flight: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
        })
    }

    /// The service whose operations these are.
    pub fn service(&self) -> Service {
        self.service
    }

    /// The budget of `operation`.
    ///
    /// # Panics
    /// When the operation is not one the operator calls: the adapters name only those, and a
    /// unit test of [`super::request_quota`] checks the KMS ones.
    pub fn of(&self, operation: &str) -> &Arc<Budget> {
        self.by_operation
            .get(operation)
            .unwrap_or_else(|| panic!("{}:{operation} has no budget", self.service))
    }

    /// What every budget is doing.
    pub fn snapshots(&self) -> Vec<BudgetSnapshot> {
        self.by_operation.values().map(|b| b.snapshot()).collect()
    }
}

/// An SDK client whose requests wait for their operation's turn.
#[derive(Clone, Debug)]
pub struct Paced<C> {
    client: C,
    budgets: Arc<Budgets>,
}

impl<C> Paced<C> {
    /// Puts `client`'s requests under `budgets`.
    pub fn new(client: C, budgets: Arc<Budgets>) -> Self {
        Self { client, budgets }
    }

    /// Sends the request `request` makes of `operation`, each time its turn comes (first, and
    /// again after each throttle, up to [`REQUEUES`] times) and one of the service's
    /// [`MAX_IN_FLIGHT`] places is free. The SDK's operation is made only then, and on the
    /// heap: while it waits, a request holds a few hundred bytes.
    pub async fn send<T, E, F, Fut>(
        &self,
        operation: &'static str,
        request: F,
    ) -> Result<T, SdkError<E, HttpResponse>>
    where
        F: Fn(&C) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata,
    {
        let budget = self.budgets.of(operation);
        let mut requeued = 0;
        loop {
            let turn = budget.wait().await;
            let in_flight = self.budgets.in_flight.acquire().await;
            let flight = turn.go();
            // On the heap, and only once the turn has come: an SDK operation's future is some
            // 6 KB, and a pass's future would otherwise keep room for every operation it may
            // send (those it joins side by side), however long it waits for its turn.
            let result = Box::pin(request(&self.client)).await;
            drop(flight);
            drop(in_flight);
            match &result {
                Err(SdkError::ServiceError(e))
                    if requeued < REQUEUES && e.err().code().is_some_and(is_throttling_code) =>
                {
                    super::calls::note_requeued(&format!("{}:{operation}", self.budgets.service));
                    requeued += 1;
                }
                _ => return result,
            }
        }
    }
}

/// Whether AWS's answer says the request was throttled: HTTP 429, or a throttling error code
/// in the headers (query and JSON protocols) or the JSON body.
fn is_throttled(response: &HttpResponse) -> bool {
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
    response.status().as_u16() == 429
        || [header_code, body_code]
            .iter()
            .flatten()
            .any(|code| is_throttling_code(code))
}

/// The interceptor telling each operation's [`Budget`] how each attempt went.
#[derive(Debug)]
pub struct ThrottleWatch(pub Arc<Budgets>);

impl Intercept for ThrottleWatch {
    fn name(&self) -> &'static str {
        "securequeue::ThrottleWatch"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (Some(response), Some(metadata)) = (context.response(), cfg.load::<Metadata>()) else {
            return Ok(());
        };
        let Some(budget) = self.0.by_operation.get(metadata.name()) else {
            return Ok(());
        };
        let now = Instant::now();
        if is_throttled(response) {
            budget.throttled(now);
        } else {
            budget.succeeded(now);
        }
        Ok(())
    }
}

/// Forbids the SDK's own retry of a throttled attempt: [`Paced::send`] sends it again when the
/// operation's budget gives it a turn.
#[derive(Debug, Default)]
pub struct ThrottledRequeued;

impl ClassifyRetry for ThrottledRequeued {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.response() {
            Some(response) if is_throttled(response) => RetryAction::RetryForbidden,
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "ThrottledRequeued"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn budget(rate: Option<f64>) -> Budget {
        Budget::new("kms:CreateKey".into(), rate)
    }

    /// Sends one request through `budget` when its turn comes, answered at once.
    async fn send(budget: &Budget) {
        let _answered = budget.wait().await.go();
    }

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_at_the_budget_before_the_first_call() {
        let budget = budget(Some(5.0));
        let start = Instant::now();
        let mut sent = Vec::new();
        for _ in 0..6 {
            send(&budget).await;
            sent.push(Instant::now() - start);
        }
        assert_eq!(sent, [ms(0), ms(200), ms(400), ms(600), ms(800), ms(1010)]);
        assert_eq!(budget.snapshot().throttles, 0);
    }

    /// Sends `count` requests through `budget` one after another; when each went.
    async fn send_times(budget: &Budget, count: usize) -> Vec<Duration> {
        let start = Instant::now();
        let mut sent = Vec::new();
        for _ in 0..count {
            send(budget).await;
            sent.push(Instant::now() - start);
        }
        sent
    }

    #[tokio::test(start_paused = true)]
    async fn no_window_of_a_second_holds_more_requests_than_the_rate() {
        for rate in [1.0, 2.5, 5.0, 15.0, 50.0] {
            let sent = send_times(&budget(Some(rate)), 200).await;
            let most = rate.ceil() as usize;
            for (i, first) in sent.iter().enumerate() {
                // A window of a second and the margin, beginning with the request at `first`.
                let within = sent[i..].iter().filter(|t| **t - *first < WINDOW).count();
                assert!(within <= most, "{within} requests in a window at {rate}/s");
            }
            let spacing = (*sent.last().unwrap() - sent[0]).as_secs_f64() / 199.0;
            assert!(
                spacing * rate <= WINDOW.as_secs_f64(),
                "{rate}/s is slowed by no more than the window's margin: {spacing} s apart"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_that_is_not_whole_keeps_its_spacing() {
        let sent = send_times(&budget(Some(2.5)), 4).await;
        assert_eq!(sent, [ms(0), ms(400), ms(800), ms(1200)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_request_spaces_the_next_from_when_it_went() {
        let budget = budget(Some(2.0));
        send(&budget).await;
        let turn = budget.wait().await;
        // Its slot was at 500 ms; it waits for a place in flight until 900 ms.
        tokio::time::sleep(ms(400)).await;
        drop(turn.go());
        let start = Instant::now();
        send(&budget).await;
        // Two a second: the third goes a spacing after the second went, not after its slot.
        assert_eq!(Instant::now() - start, ms(500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_stays_in_the_window_until_a_window_after_its_answer() {
        let budget = budget(Some(2.0));
        let start = Instant::now();
        let slow = budget.wait().await.go();
        send(&budget).await;
        tokio::time::sleep(ms(1000)).await;
        // The first left at 0 but is answered only at 1.5 s: AWS counted it somewhere between.
        drop(slow);
        send(&budget).await;
        assert_eq!(Instant::now() - start, ms(500) + WINDOW);
        // Counted from when it left, the next could go at 2 s; it is in the window until 2.51 s.
        send(&budget).await;
        assert_eq!(Instant::now() - start, ms(1500) + WINDOW);
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_full_of_requests_in_flight_opens_only_with_an_answer() {
        let budget = Arc::new(budget(Some(1.0)));
        let start = Instant::now();
        let in_flight = budget.wait().await.go();
        let next = tokio::spawn({
            let budget = budget.clone();
            async move {
                send(&budget).await;
                Instant::now()
            }
        });
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(!next.is_finished());
        drop(in_flight);
        assert_eq!(next.await.unwrap() - start, Duration::from_secs(3) + WINDOW);
    }

    #[tokio::test(start_paused = true)]
    async fn a_turn_given_up_before_its_request_went_leaves_the_window() {
        let budget = budget(Some(1.0));
        drop(budget.wait().await);
        let start = Instant::now();
        send(&budget).await;
        // The turn given up still took its spacing, but holds no place in the window.
        assert_eq!(Instant::now() - start, Duration::from_secs(1));
        assert_eq!(budget.state.lock().unwrap().sent.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_budget_lets_the_next_request_go_at_once() {
        let budget = budget(Some(5.0));
        send(&budget).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let before = Instant::now();
        send(&budget).await;
        assert_eq!(Instant::now(), before);
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_are_served_in_the_order_they_came() {
        let budget = Arc::new(budget(Some(10.0)));
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (budget, order) = (budget.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                send(&budget).await;
                order.lock().unwrap().push(i);
            }));
            // Each asks a little after the one before.
            tokio::time::sleep(ms(1)).await;
        }
        assert!(budget.snapshot().waiting > 10);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
        assert_eq!(budget.snapshot().waiting, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_cuts_the_rate_and_quiet_seconds_raise_it_back_to_the_budget() {
        let budget = budget(Some(10.0));
        let start = Instant::now();
        budget.throttled(start);
        assert_eq!(budget.snapshot().rate, Some(7.0));
        // Answers to requests sent before the cut cut nothing more.
        budget.throttled(start + ms(500));
        assert_eq!(budget.snapshot().rate, Some(7.0));
        assert_eq!(budget.snapshot().throttles, 2);
        budget.succeeded(start + ms(999));
        assert_eq!(budget.snapshot().rate, Some(7.0));
        budget.succeeded(start + ms(1000));
        assert_eq!(budget.snapshot().rate, Some(7.5));
        for second in 2..=10 {
            budget.succeeded(start + Duration::from_secs(second));
        }
        assert_eq!(budget.snapshot().rate, Some(10.0));
        assert_eq!(budget.snapshot().cuts, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_never_drops_below_the_minimum() {
        let budget = budget(Some(1.0));
        let start = Instant::now();
        for i in 0..5 {
            budget.throttled(start + CUT_SPACING * i);
        }
        assert_eq!(budget.snapshot().rate, Some(MIN_RATE));
    }

    #[tokio::test(start_paused = true)]
    async fn an_operation_without_a_quota_is_paced_only_after_a_throttle_and_then_released() {
        let budget = budget(None);
        let start = Instant::now();
        for _ in 0..40 {
            send(&budget).await;
        }
        assert_eq!(Instant::now(), start, "no quota, no wait");
        budget.throttled(start);
        assert_eq!(budget.snapshot().rate, Some(20.0));
        budget.succeeded(start + RELEASE_AFTER);
        assert_eq!(budget.snapshot().rate, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_of_one_operation_leaves_the_others_alone() {
        let budgets = Budgets::new(Service::Kms, &QuotaSettings::default());
        budgets.of("CreateKey").throttled(Instant::now());
        let rates: BTreeMap<String, Option<f64>> = budgets
            .snapshots()
            .into_iter()
            .map(|s| (s.operation, s.rate))
            .collect();
        assert_eq!(rates["kms:CreateKey"], Some(2.5 * DECREASE));
        assert_eq!(rates["kms:DescribeKey"], Some(1000.0));
        assert_eq!(rates["kms:CreateAlias"], Some(2.5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_request_does_not_hold_up_another_operation() {
        let budgets = Budgets::new(Service::Kms, &QuotaSettings::new(1.0, []));
        let create_key = budgets.of("CreateKey").clone();
        let backlog: Vec<_> = (0..50)
            .map(|_| {
                let budget = create_key.clone();
                tokio::spawn(async move {
                    send(&budget).await;
                })
            })
            .collect();
        tokio::task::yield_now().await;
        let before = Instant::now();
        for _ in 0..100 {
            send(budgets.of("DescribeKey")).await;
        }
        // 100 DescribeKeys at 2000/s while 50 CreateKeys wait ten seconds at 5/s.
        assert!(Instant::now() - before < ms(60));
        assert!(create_key.snapshot().waiting > 40);
        for task in backlog {
            task.await.unwrap();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_so_many_requests_of_a_service_are_in_flight() {
        use aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError;
        use std::sync::atomic::AtomicUsize;

        let paced = Arc::new(Paced::new(
            (),
            Budgets::new(Service::Sqs, &QuotaSettings::default()),
        ));
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let (paced, now, most) = (paced.clone(), now.clone(), most.clone());
                tokio::spawn(async move {
                    paced
                        .send("GetQueueUrl", |_| {
                            let (now, most) = (now.clone(), most.clone());
                            async move {
                                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                                most.fetch_max(n, Ordering::SeqCst);
                                tokio::time::sleep(ms(10)).await;
                                now.fetch_sub(1, Ordering::SeqCst);
                                Ok::<(), SdkError<GetQueueUrlError, HttpResponse>>(())
                            }
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), MAX_IN_FLIGHT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_that_goes_late_keeps_the_next_one_a_spacing_behind_it() {
        let budget = budget(Some(5.0));
        let turn = budget.wait().await;
        // It waits 700 ms for a place in flight before it goes.
        tokio::time::sleep(ms(700)).await;
        let went = Instant::now();
        drop(turn.go());
        send(&budget).await;
        assert_eq!(
            Instant::now() - went,
            ms(200),
            "not at once, as its slot of 200 ms said"
        );
    }
}
