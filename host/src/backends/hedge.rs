//! Hedged requests, for a backend that opted in (`hedge`): when an idempotent call's
//! attempt has not answered after a delay, a second copy (the hedge) is sent and the first
//! answer wins; the other attempt is dropped, which closes its connection. The delay is
//! `hedge_after_ms`, or else the backend's recent p95 answer latency ([`RecentLatency`]);
//! before enough answers were seen for an estimate, nothing is hedged.
//!
//! Every hedge spends a token of the backend's retry budget, so hedges and retries together
//! add at most the budget's share of load; with the bucket empty no hedge is sent (counted
//! as denied). The hedge shares the first attempt's time: both end when the first attempt's
//! timeout (or the device request's deadline) would, so hedging never makes a call wait
//! longer (the invariant in `backends.rs`).

use std::{
    future::Future,
    pin::pin,
    sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering},
};

use frontdoor_plugin_api::BackendErrorKind;
use hyper::Method;
use tokio::time::{Duration, Instant};

use super::{Backend, CallResult, HedgeConfig, OutgoingCall, retryable};

/// A backend's hedging: when to hedge, and the latencies that estimate it.
pub struct Hedging {
    after: Option<Duration>,
    recent: RecentLatency,
}

impl Hedging {
    /// `None` when the backend does not hedge.
    pub fn new(config: &HedgeConfig) -> Option<Self> {
        config.enabled.then(|| Self {
            after: config.after,
            recent: RecentLatency::default(),
        })
    }

    /// How long an attempt may go unanswered before it is hedged; `None` while there is no
    /// fixed delay and no estimate yet.
    pub fn delay(&self) -> Option<Duration> {
        self.after.or_else(|| self.recent.p95())
    }

    /// Runs `attempt`, noting how long it took when the backend answered (an error status
    /// included; a refusal, timeout or transport error says nothing of its latency).
    async fn timed(&self, attempt: impl Future<Output = CallResult>) -> CallResult {
        let started = Instant::now();
        let result = attempt.await;
        let answered = match &result {
            Ok(_) => true,
            Err(error) => error.kind == BackendErrorKind::Status,
        };
        if answered {
            self.recent.record(started.elapsed());
        }
        result
    }
}

/// What became of the hedge of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HedgeOutcome {
    /// The attempt ended before the delay: no hedge was due.
    NotDue,
    /// A hedge was due but the retry budget was empty: none was sent.
    Denied,
    /// A hedge was sent; the first attempt's answer was the call's.
    Lost,
    /// A hedge was sent and its answer was the call's.
    Won,
}

/// Runs `first`; if it has not ended after `delay` and `may_hedge` allows it, starts
/// `hedge` beside it. The first result that `settles` the call is returned and the other
/// future dropped; a result that does not (a retryable failure, a refusal) waits for the
/// other's, which is then returned whatever it is.
pub async fn race<T, A, B>(
    first: A,
    delay: Duration,
    may_hedge: impl FnOnce() -> bool,
    hedge: impl FnOnce() -> B,
    settles: impl Fn(&T) -> bool,
) -> (T, HedgeOutcome)
where
    A: Future<Output = T>,
    B: Future<Output = T>,
{
    let mut first = pin!(first);
    tokio::select! {
        biased;
        result = &mut first => return (result, HedgeOutcome::NotDue),
        () = tokio::time::sleep(delay) => {}
    }
    if !may_hedge() {
        return (first.await, HedgeOutcome::Denied);
    }
    let mut second = pin!(hedge());
    tokio::select! {
        biased;
        result = &mut first => {
            if settles(&result) {
                return (result, HedgeOutcome::Lost);
            }
            let result = second.await;
            let outcome = if settles(&result) { HedgeOutcome::Won } else { HedgeOutcome::Lost };
            (result, outcome)
        }
        result = &mut second => {
            if settles(&result) {
                (result, HedgeOutcome::Won)
            } else {
                (first.await, HedgeOutcome::Lost)
            }
        }
    }
}

impl Backend {
    /// One attempt, hedged when the backend hedges, the call is idempotent and the attempt
    /// is slower than the hedge delay.
    pub(super) async fn attempt_or_hedge(&self, call: &OutgoingCall) -> CallResult {
        let idempotent = call.method == Method::GET || call.method == Method::HEAD;
        let Some(hedging) = self.hedging.as_ref().filter(|_| idempotent) else {
            return self.attempt(call).await;
        };
        // Boxed: a hedged attempt's future holds two attempts and their race, several times
        // an attempt's size, and every call's future would otherwise carry that space; call
        // futures are moved whole (into `join_all`'s buffer, into their box when started),
        // so their size was a large share of W3's CPU.
        Box::pin(self.hedged(hedging, call)).await
    }

    /// [`Self::attempt_or_hedge`] for a call this backend hedges.
    async fn hedged(&self, hedging: &Hedging, call: &OutgoingCall) -> CallResult {
        let Some(delay) = hedging.delay() else {
            return hedging.timed(self.attempt(call)).await;
        };
        // The hedge ends when the first attempt would: at its timeout or the deadline.
        let hedge_call = OutgoingCall {
            deadline: Instant::now()
                .checked_add(self.config.timeout)
                .map_or(call.deadline, |end| end.min(call.deadline)),
            ..call.clone()
        };
        let count = |counter: &AtomicU64| {
            counter.fetch_add(1, Ordering::Relaxed);
        };
        // Sent and denied hedges are counted as the decision is made, not when the call ends.
        let may_hedge = || {
            let granted = self.retry_budget.try_withdraw();
            let metrics = &self.metrics;
            count(if granted {
                &metrics.hedges_sent
            } else {
                &metrics.hedges_denied
            });
            granted
        };
        let (result, outcome) = race(
            hedging.timed(self.attempt(call)),
            delay,
            may_hedge,
            || hedging.timed(self.attempt(&hedge_call)),
            settles,
        )
        .await;
        if outcome == HedgeOutcome::Won {
            count(&self.metrics.hedges_won);
        }
        result
    }
}

/// Whether an attempt's result is the call's answer: an answer, or a failure that another
/// attempt would not change (a 4xx). Timeouts, transport errors, 5xx and refusals (a full
/// bulkhead, an open breaker) wait for the other attempt.
fn settles(result: &CallResult) -> bool {
    match result {
        Ok(_) => true,
        Err(error) => {
            !retryable(error)
                && !matches!(
                    error.kind,
                    BackendErrorKind::Rejected | BackendErrorKind::CircuitOpen
                )
        }
    }
}

/// The latencies of a backend's last [`WINDOW`] answers, in microseconds, in a ring written
/// without a lock (a write racing a read may be missed: the estimate is approximate by
/// nature).
pub struct RecentLatency {
    samples: [AtomicU32; WINDOW],
    written: AtomicUsize,
}

/// Answers the estimate looks at.
pub const WINDOW: usize = 64;
/// Answers needed before there is an estimate: fewer would make p95 the slowest one.
pub const MIN_SAMPLES: usize = 20;

impl Default for RecentLatency {
    fn default() -> Self {
        Self {
            samples: std::array::from_fn(|_| AtomicU32::new(0)),
            written: AtomicUsize::new(0),
        }
    }
}

impl RecentLatency {
    pub fn record(&self, latency: Duration) {
        let slot = self.written.fetch_add(1, Ordering::Relaxed) % WINDOW;
        let micros = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        self.samples[slot].store(micros, Ordering::Relaxed);
    }

    /// The 95th percentile of the answers in the window (nearest rank), once there are
    /// [`MIN_SAMPLES`] of them.
    pub fn p95(&self) -> Option<Duration> {
        let filled = self.written.load(Ordering::Relaxed).min(WINDOW);
        if filled < MIN_SAMPLES {
            return None;
        }
        let mut samples = [0_u32; WINDOW];
        for (sample, slot) in samples.iter_mut().zip(&self.samples).take(filled) {
            *sample = slot.load(Ordering::Relaxed);
        }
        let samples = &mut samples[..filled];
        let rank = (filled * 95).div_ceil(100) - 1;
        let (_, p95, _) = samples.select_nth_unstable(rank);
        Some(Duration::from_micros(u64::from(*p95)))
    }
}

#[cfg(test)]
mod tests;
