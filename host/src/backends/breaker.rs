//! The circuit breaker: stop calling a backend that is failing, let a probe through after a
//! while, close again when it answers.
//!
//! Closed: calls pass and their outcomes fill a rolling window; when the window holds at
//! least `min_requests` calls and `error_threshold_percent` of them failed, it opens.
//! Open: calls fail fast with `CircuitOpen` until `open_for` has passed. Half-open: up to
//! `half_open_probes` calls pass; a success closes the circuit (with a fresh window), a
//! failure opens it again. Time is tokio's, so tests drive it with `tokio::time::pause()`.

use std::sync::{Arc, Mutex};

use tokio::time::{Duration, Instant};

use super::config::BreakerConfig;

/// What a call's outcome means for the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The backend answered (2xx, or 4xx: the caller's fault, not the backend's).
    Success,
    /// 5xx, timeout, transport error.
    Failure,
    /// The call never reached the backend (bulkhead full, cancelled).
    Ignored,
}

/// The state as reported in metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
        }
    }
}

/// The breaker refused the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitOpen;

pub struct CircuitBreaker {
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

struct Inner {
    state: State,
    window: RollingWindow,
}

enum State {
    Closed,
    Open { until: Instant },
    HalfOpen { probes: u32 },
}

const BUCKETS: usize = 10;

/// Call outcomes over the last `window`, in `BUCKETS` slices that expire one by one.
struct RollingWindow {
    bucket_width: Duration,
    /// Start of the bucket at `current`.
    current_start: Instant,
    current: usize,
    successes: [u32; BUCKETS],
    failures: [u32; BUCKETS],
}

impl RollingWindow {
    fn new(window: Duration, now: Instant) -> Self {
        Self {
            bucket_width: (window / BUCKETS as u32).max(Duration::from_millis(1)),
            current_start: now,
            current: 0,
            successes: [0; BUCKETS],
            failures: [0; BUCKETS],
        }
    }

    /// Moves the window to `now`, clearing the buckets that fell out of it.
    fn advance(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.current_start);
        let steps =
            (elapsed.as_nanos() / self.bucket_width.as_nanos()).min(BUCKETS as u128) as usize;
        for _ in 0..steps {
            self.current = (self.current + 1) % BUCKETS;
            self.successes[self.current] = 0;
            self.failures[self.current] = 0;
        }
        if steps > 0 {
            self.current_start = now;
        }
    }

    fn record(&mut self, failed: bool, now: Instant) {
        self.advance(now);
        if failed {
            self.failures[self.current] += 1;
        } else {
            self.successes[self.current] += 1;
        }
    }

    fn totals(&self) -> (u32, u32) {
        (self.successes.iter().sum(), self.failures.iter().sum())
    }
}

impl CircuitBreaker {
    pub fn new(config: BreakerConfig) -> Arc<Self> {
        let window = RollingWindow::new(config.window, Instant::now());
        Arc::new(Self {
            config,
            inner: Mutex::new(Inner {
                state: State::Closed,
                window,
            }),
        })
    }

    /// Asks to make a call at `now` (the caller's reading of the clock, which it also times
    /// the call from: one reading serves both). The permit must be given its outcome with
    /// [`BreakerPermit::record`]; dropping it unrecorded counts as [`Outcome::Ignored`].
    pub fn try_acquire(&self, now: Instant) -> Result<BreakerPermit<'_>, CircuitOpen> {
        let mut inner = self.lock();
        let probe = match inner.state {
            State::Closed => false,
            State::Open { until } if now >= until => {
                inner.state = State::HalfOpen { probes: 1 };
                true
            }
            State::Open { .. } => return Err(CircuitOpen),
            State::HalfOpen { probes } if probes < self.config.half_open_probes.max(1) => {
                inner.state = State::HalfOpen { probes: probes + 1 };
                true
            }
            State::HalfOpen { .. } => return Err(CircuitOpen),
        };
        Ok(BreakerPermit {
            breaker: self,
            probe,
            recorded: false,
        })
    }

    pub fn state(&self) -> BreakerState {
        match self.lock().state {
            State::Closed => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn record(&self, probe: bool, outcome: Outcome, now: Instant) {
        let mut inner = self.lock();
        if probe {
            match outcome {
                Outcome::Success => {
                    inner.state = State::Closed;
                    inner.window = RollingWindow::new(self.config.window, now);
                }
                Outcome::Failure => {
                    inner.state = State::Open {
                        until: now + self.config.open_for,
                    };
                }
                Outcome::Ignored => {
                    if let State::HalfOpen { probes } = inner.state {
                        inner.state = State::HalfOpen {
                            probes: probes.saturating_sub(1),
                        };
                    }
                }
            }
            return;
        }
        if outcome == Outcome::Ignored || !matches!(inner.state, State::Closed) {
            return;
        }
        inner.window.record(outcome == Outcome::Failure, now);
        let (successes, failures) = inner.window.totals();
        let total = successes + failures;
        if total >= self.config.min_requests
            && u64::from(failures) * 100
                >= u64::from(self.config.error_threshold_percent) * u64::from(total)
        {
            inner.state = State::Open {
                until: now + self.config.open_for,
            };
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The state is a few plain fields, consistent after any panic.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Permission for one call; carries whether it is a half-open probe.
pub struct BreakerPermit<'breaker> {
    breaker: &'breaker CircuitBreaker,
    probe: bool,
    recorded: bool,
}

impl BreakerPermit<'_> {
    /// The call's outcome, as of `now` (when the call ended).
    pub fn record(mut self, outcome: Outcome, now: Instant) {
        self.recorded = true;
        self.breaker.record(self.probe, outcome, now);
    }
}

impl Drop for BreakerPermit<'_> {
    fn drop(&mut self) {
        // A cancelled call must not leave a half-open probe slot taken forever.
        if !self.recorded {
            self.breaker
                .record(self.probe, Outcome::Ignored, Instant::now());
        }
    }
}

#[cfg(test)]
mod tests;
