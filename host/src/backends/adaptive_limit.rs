//! The adaptive concurrency limit: how many calls a backend may have in flight right now,
//! learnt from how fast it answers, so a backend that slows down or hangs gets fewer calls
//! and the rest are refused at once with `Rejected` instead of waiting out its timeout.
//!
//! The estimate is Gradient2's, from Netflix's concurrency-limits. Two averages of the
//! attempts' latency: a long one, the no-load latency (about `long_window` answers), and a
//! short one, the recent latency (about `short_window`). After each answer the limit moves,
//! by `smoothing`, toward `limit × gradient + queue_size`, where `gradient =
//! rtt_tolerance × long / short` held between ½ and 1: at 1 (no queueing seen) the limit
//! grows by the queue allowance; above the tolerance it shrinks, by at most half per step.
//! As in Gradient2, answers never shrink the limit while fewer than half of it are in
//! flight (the caller, not the backend, set the pace), and the no-load latency is pulled
//! down when recent answers are more than twice as fast.
//!
//! Where this departs from Gradient2, and why:
//! - A timeout or transport error is a *drop*: it counts as the longest latency there is
//!   (the backend's timeout) in the recent average, feeds nothing into the no-load one
//!   (a hang must not become the new normal), and shrinks the limit by the full half step
//!   with no queue allowance, whatever is in flight. A hung backend answers nothing, so
//!   drops are the only signal it gives: one wave of timeouts takes the limit to its floor.
//! - The limit starts at its ceiling (`initial_limit` defaults to `max_limit`, which
//!   defaults to the bulkhead's `max_concurrent`), and with no queueing seen it grows even
//!   while little is in flight. A healthy backend is thus never refused a call the fixed
//!   bulkhead would have let through; only latency or drops take the limit down.
//! - An attempt cancelled before it ended (its device request gone, a hedge that lost)
//!   says nothing about the backend when it was young; one cancelled after the tolerated
//!   latency counts its age as a latency (a lower bound of the real one), not as a drop.
//! - Every answer is a sample (no windows of samples): a hang is visible one timeout after
//!   it began, and the short average keeps one slow answer from moving the limit much.
//!
//! Hand-written, as the breaker and bulkhead are, rather than taken from a crate: `tower`'s
//! `ConcurrencyLimit` is fixed; `tower-acc` (0.1, Vegas/Gradient2/AIMD) and
//! `tower-resilience-adaptive` (AIMD/Vegas) are `tower` layers that own the call and
//! classify its outcome themselves. This layer needs a synchronous decision that composes
//! with the breaker, bulkhead and retries in `Backend::attempt`, a timeout counted as the
//! backend's own timeout, cancellations told apart from drops, and its state readable for
//! `/admin/backends`: a small state machine, tested on tokio's paused clock.

mod config;

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};

use frontdoor_plugin_api::{BackendError, BackendErrorKind};
use serde::Serialize;
use tokio::time::{Duration, Instant};

pub use config::{AdaptiveConfig, AdaptiveFileConfig, Concurrency, resolve};

use super::{BackendConfig, CallResult};

/// The strongest decrease one step may ask for: Gradient2 never more than halves.
const MIN_GRADIENT: f64 = 0.5;
/// Samples averaged plainly before an average turns exponential.
const WARMUP_SAMPLES: u32 = 10;

/// One backend's adaptive limit.
pub struct AdaptiveLimit {
    min_limit: f64,
    max_limit: f64,
    smoothing: f64,
    rtt_tolerance: f64,
    queue_size: f64,
    /// What a drop counts as, in seconds: the backend's timeout.
    max_rtt: f64,
    state: Mutex<State>,
    rejected: AtomicU64,
}

struct State {
    limit: f64,
    in_flight: usize,
    /// The no-load latency, in seconds: answers only.
    long_rtt: Average,
    /// The recent latency, in seconds: answers and drops.
    short_rtt: Average,
}

/// How an admitted attempt ended, for the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitOutcome {
    /// The backend answered, whatever the status: its latency is a sample.
    Answered,
    /// No answer (timeout, transport error): counts as the timeout's latency.
    Dropped,
}

impl AdaptiveLimit {
    /// A limit with settings already checked (see [`AdaptiveConfig::validate`]), under a
    /// bulkhead of `max_concurrent`, for a backend whose timeout is `max_rtt`.
    pub fn new(config: &AdaptiveConfig, max_concurrent: usize, max_rtt: Duration) -> Arc<Self> {
        let max_limit = config.max_limit(max_concurrent).max(1);
        let min_limit = config.min_limit.clamp(1, max_limit);
        let initial = config
            .initial_limit(max_concurrent)
            .clamp(min_limit, max_limit);
        Arc::new(Self {
            min_limit: min_limit as f64,
            max_limit: max_limit as f64,
            smoothing: config.smoothing,
            rtt_tolerance: config.rtt_tolerance,
            queue_size: config.queue_size as f64,
            max_rtt: max_rtt.as_secs_f64(),
            state: Mutex::new(State {
                limit: initial as f64,
                in_flight: 0,
                long_rtt: Average::new(config.long_window),
                short_rtt: Average::new(config.short_window),
            }),
            rejected: AtomicU64::new(0),
        })
    }

    /// A slot for one attempt, or `None` (counted) when the limit's calls are in flight.
    /// The permit must be given its outcome with [`LimitPermit::record`].
    pub fn try_acquire(self: &Arc<Self>) -> Option<LimitPermit> {
        let mut state = self.lock();
        if state.in_flight >= allowed(state.limit) {
            drop(state);
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        state.in_flight += 1;
        Some(LimitPermit {
            limit: self.clone(),
            started: Instant::now(),
            recorded: false,
        })
    }

    /// Calls allowed in flight now.
    pub fn limit(&self) -> usize {
        allowed(self.lock().limit)
    }

    pub fn view(&self) -> AdaptiveView {
        let state = self.lock();
        let millis = |average: &Average| average.known().map(|secs| round_ms(secs * 1000.0));
        AdaptiveView {
            min_limit: self.min_limit as usize,
            max_limit: self.max_limit as usize,
            in_flight: state.in_flight,
            no_load_rtt_ms: millis(&state.long_rtt),
            recent_rtt_ms: millis(&state.short_rtt),
        }
    }

    /// Attempts refused so far.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    fn finish(&self, rtt: Duration, outcome: LimitOutcome) {
        let mut state = self.lock();
        self.sample(&mut state, rtt.as_secs_f64(), outcome);
        state.in_flight = state.in_flight.saturating_sub(1);
    }

    /// An attempt dropped unrecorded after `age`: a latency sample only once overdue.
    fn cancelled(&self, age: Duration) {
        let mut state = self.lock();
        let age = age.as_secs_f64();
        let overdue = state
            .long_rtt
            .known()
            .is_some_and(|long| age > self.rtt_tolerance * long);
        if overdue {
            self.sample(&mut state, age, LimitOutcome::Answered);
        }
        state.in_flight = state.in_flight.saturating_sub(1);
    }

    /// Moves the limit after one sample; `state.in_flight` still counts its attempt.
    fn sample(&self, state: &mut State, rtt: f64, outcome: LimitOutcome) {
        let target = match outcome {
            LimitOutcome::Dropped => {
                state.short_rtt.add(self.max_rtt);
                state.limit * MIN_GRADIENT
            }
            LimitOutcome::Answered => {
                let short = state.short_rtt.add(rtt);
                let mut long = state.long_rtt.add(rtt);
                if long > 2.0 * short {
                    // Latency is back to normal after a slow spell: let the no-load
                    // estimate follow faster than its window would.
                    long *= 0.95;
                    state.long_rtt.value = long;
                }
                let gradient = if short > 0.0 {
                    (self.rtt_tolerance * long / short).clamp(MIN_GRADIENT, 1.0)
                } else {
                    1.0
                };
                let app_limited = (state.in_flight as f64) < state.limit / 2.0;
                if gradient < 1.0 && app_limited {
                    return;
                }
                state.limit * gradient + self.queue_size
            }
        };
        let smoothed = state.limit * (1.0 - self.smoothing) + target * self.smoothing;
        state.limit = smoothed.clamp(self.min_limit, self.max_limit);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a few numbers, consistent after any panic.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whole calls under a limit (never below 1: the floor is at least 1).
fn allowed(limit: f64) -> usize {
    (limit as usize).max(1)
}

fn round_ms(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// One admitted attempt; dropping it unrecorded means it was cancelled.
pub struct LimitPermit {
    limit: Arc<AdaptiveLimit>,
    started: Instant,
    recorded: bool,
}

impl LimitPermit {
    pub fn record(mut self, outcome: LimitOutcome) {
        self.recorded = true;
        self.limit.finish(self.started.elapsed(), outcome);
    }
}

impl Drop for LimitPermit {
    fn drop(&mut self) {
        if !self.recorded {
            self.limit.cancelled(self.started.elapsed());
        }
    }
}

/// An exponential moving average over about `window` samples; the first few are averaged
/// plainly, so the estimate starts from data rather than from zero.
struct Average {
    value: f64,
    samples: u32,
    window: u32,
}

impl Average {
    fn new(window: u32) -> Self {
        Self {
            value: 0.0,
            samples: 0,
            window: window.max(1),
        }
    }

    fn add(&mut self, sample: f64) -> f64 {
        if self.samples < self.window.min(WARMUP_SAMPLES) {
            self.samples += 1;
            self.value += (sample - self.value) / f64::from(self.samples);
        } else {
            self.value += (sample - self.value) * 2.0 / (f64::from(self.window) + 1.0);
        }
        self.value
    }

    fn known(&self) -> Option<f64> {
        (self.samples > 0).then_some(self.value)
    }
}

/// The adaptive limit of a backend configured with one; `Err` names the key at fault.
pub fn for_backend(config: &BackendConfig) -> Result<Option<Arc<AdaptiveLimit>>, String> {
    match &config.concurrency {
        Concurrency::Fixed => Ok(None),
        Concurrency::Adaptive(adaptive) => {
            adaptive.validate("adaptive", config.max_concurrent)?;
            Ok(Some(AdaptiveLimit::new(
                adaptive,
                config.max_concurrent,
                config.timeout,
            )))
        }
    }
}

/// The adaptive limit's part in one attempt of `backend`: nothing for a fixed backend, else
/// a slot or a `Rejected` error.
pub fn admit(limit: Option<&Arc<AdaptiveLimit>>, backend: &str) -> Result<Admission, BackendError> {
    let Some(limit) = limit else {
        return Ok(Admission(None));
    };
    match limit.try_acquire() {
        Some(permit) => Ok(Admission(Some(permit))),
        None => Err(BackendError::new(
            BackendErrorKind::Rejected,
            format!(
                "{backend}: adaptive concurrency limit of {} calls in flight reached",
                limit.limit()
            ),
        )),
    }
}

/// An attempt's slot under the adaptive limit, if the backend has one.
pub struct Admission(Option<LimitPermit>);

impl Admission {
    /// Records how the attempt ended: no answer (timeout, transport error) is a drop.
    pub fn record(self, result: &CallResult) {
        let Some(permit) = self.0 else {
            return;
        };
        permit.record(match result {
            Err(error)
                if matches!(
                    error.kind,
                    BackendErrorKind::Timeout | BackendErrorKind::Transport
                ) =>
            {
                LimitOutcome::Dropped
            }
            _ => LimitOutcome::Answered,
        });
    }
}

/// A backend's concurrency as `/admin/backends` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ConcurrencyView {
    /// `fixed` or `adaptive`.
    pub mode: &'static str,
    /// Calls allowed in flight now: the adaptive limit, or `max_concurrent`.
    pub limit: usize,
    /// Attempts the adaptive limit refused (the bulkhead's refusals are not counted here;
    /// both are `rejected` in the totals).
    pub rejected: u64,
    #[serde(flatten)]
    pub adaptive: Option<AdaptiveView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdaptiveView {
    pub min_limit: usize,
    pub max_limit: usize,
    pub in_flight: usize,
    /// The long average of answers' latency; `None` before the first answer.
    pub no_load_rtt_ms: Option<f64>,
    /// The short average, drops counted at the timeout.
    pub recent_rtt_ms: Option<f64>,
}

/// The view of a backend with `limit` (if adaptive) under a bulkhead of `max_concurrent`.
pub fn view(limit: Option<&AdaptiveLimit>, max_concurrent: usize) -> ConcurrencyView {
    match limit {
        None => ConcurrencyView {
            mode: "fixed",
            limit: max_concurrent,
            rejected: 0,
            adaptive: None,
        },
        Some(limit) => ConcurrencyView {
            mode: "adaptive",
            limit: limit.limit(),
            rejected: limit.rejected(),
            adaptive: Some(limit.view()),
        },
    }
}

#[cfg(test)]
mod tests;
