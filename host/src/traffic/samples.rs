//! What a canary's judge compares: per interval, each side's request and 5xx counts and a
//! bounded reservoir of latencies, filled from the request path without a lock.
//!
//! Both sides live in one [`Window`], and the judge swaps the whole window at once, so the
//! baseline and the canary are always compared over the same interval.

use std::sync::{
    Arc,
    atomic::{AtomicU32, AtomicU64, Ordering},
};

use arc_swap::ArcSwap;

use super::sticky;

/// Which side of a canary split a request took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arm {
    Baseline,
    Canary,
}

/// The samples of one canary plan: the current interval's window.
pub struct Sampler {
    window: ArcSwap<Window>,
    capacity: usize,
}

/// One interval of both sides.
pub struct Window {
    baseline: Reservoir,
    canary: Reservoir,
}

/// Counts and a reservoir of latencies of one side over one interval.
struct Reservoir {
    requests: AtomicU64,
    errors: AtomicU64,
    /// Latencies in µs; `EMPTY` until written (a slot claimed but not yet stored is skipped).
    slots: Box<[AtomicU32]>,
}

const EMPTY: u32 = u32::MAX;

/// One side of a closed interval, as the judge reads it.
#[derive(Debug, Clone, Default)]
pub struct ArmSummary {
    pub requests: u64,
    pub errors: u64,
    /// A uniform sample of the interval's latencies, in µs.
    pub latencies_us: Vec<u32>,
}

impl Sampler {
    pub fn new(capacity: usize) -> Self {
        Self {
            window: ArcSwap::from_pointee(Window::new(capacity)),
            capacity,
        }
    }

    /// Records one request of `arm`: lock-free, allocation-free.
    pub fn record(&self, arm: Arm, latency_us: u64, server_error: bool) {
        let window = self.window.load();
        let reservoir = match arm {
            Arm::Baseline => &window.baseline,
            Arm::Canary => &window.canary,
        };
        reservoir.record(u32::try_from(latency_us).unwrap_or(EMPTY - 1), server_error);
    }

    /// Closes the current interval and opens the next: (baseline, canary) of the closed one.
    /// A request that loaded the old window just before the swap may still land in it after
    /// it was read: one sample lost, never one counted in the wrong interval's verdict.
    pub fn close_interval(&self) -> (ArmSummary, ArmSummary) {
        let closed = self.window.swap(Arc::new(Window::new(self.capacity)));
        (closed.baseline.summary(), closed.canary.summary())
    }

    /// Requests counted so far in the open interval: (baseline, canary).
    pub fn open_counts(&self) -> (u64, u64) {
        let window = self.window.load();
        (
            window.baseline.requests.load(Ordering::Relaxed),
            window.canary.requests.load(Ordering::Relaxed),
        )
    }
}

impl Window {
    fn new(capacity: usize) -> Self {
        Self {
            baseline: Reservoir::new(capacity),
            canary: Reservoir::new(capacity),
        }
    }
}

impl Reservoir {
    fn new(capacity: usize) -> Self {
        Self {
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            slots: (0..capacity.max(1))
                .map(|_| AtomicU32::new(EMPTY))
                .collect(),
        }
    }

    /// Algorithm R: the n-th value replaces a random slot with probability capacity / n, so
    /// the slots stay a uniform sample of everything recorded.
    fn record(&self, latency_us: u32, server_error: bool) {
        let seen = self.requests.fetch_add(1, Ordering::Relaxed);
        if server_error {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let capacity = self.slots.len() as u64;
        let slot = if seen < capacity {
            seen
        } else {
            sticky::next_random() % (seen + 1)
        };
        if let Some(slot) = usize::try_from(slot).ok().and_then(|s| self.slots.get(s)) {
            slot.store(latency_us, Ordering::Relaxed);
        }
    }

    fn summary(&self) -> ArmSummary {
        ArmSummary {
            requests: self.requests.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            latencies_us: self
                .slots
                .iter()
                .map(|slot| slot.load(Ordering::Relaxed))
                .filter(|&latency| latency != EMPTY)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_keeps_counts_and_a_bounded_sample_per_side() {
        let sampler = Sampler::new(16);
        for i in 0..100 {
            sampler.record(Arm::Baseline, 1_000 + i, false);
        }
        for i in 0..10 {
            sampler.record(Arm::Canary, 3_000 + i, i % 5 == 0);
        }
        assert_eq!(sampler.open_counts(), (100, 10));
        let (baseline, canary) = sampler.close_interval();
        assert_eq!((baseline.requests, baseline.errors), (100, 0));
        assert_eq!(baseline.latencies_us.len(), 16);
        assert!(
            baseline
                .latencies_us
                .iter()
                .all(|&l| (1_000..1_100).contains(&l))
        );
        assert_eq!((canary.requests, canary.errors), (10, 2));
        assert_eq!(canary.latencies_us.len(), 10);
        // The next interval starts empty.
        assert_eq!(sampler.open_counts(), (0, 0));
    }
}
