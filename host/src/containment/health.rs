//! One version's health: request and failure counts, the sliding window that decides
//! quarantine, and its sampled heap. Written by the request path only on failures (the
//! request count is one relaxed atomic add), read by the admin API.

use std::{
    collections::VecDeque,
    sync::{
        Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use crossbeam_channel::Sender;
use frontdoor_plugin_api::PluginStats;
use serde::Serialize;

use super::{QuarantineConfig, monitor::MonitorMessage};

/// What went wrong once, counted toward quarantine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A panic caught in a handler, a destructor or a shared-module call.
    Panic,
    /// A handler that outlived its budget (the device got a 504).
    Timeout,
    /// A poll that held a worker thread longer than `max_poll`.
    BlockedPoll,
}

/// A version was just quarantined: the host republishes so bindings and reports follow.
#[derive(Debug, Clone)]
pub struct QuarantineNotice {
    pub label: String,
    pub reason: String,
}

/// The health of one loaded version. Allocated once per version and never freed
/// (`&'static`), like the version's library: the watchdog reads it from another thread
/// through a raw slot, with no reference count to keep it alive.
pub struct VersionHealth {
    /// Its index in the process's table of health records (how the watchdog names it).
    id: u32,
    /// `name@version`.
    pub label: String,
    /// `METHOD /pattern` of each route, by route index (for the watchdog's log lines).
    routes: Vec<String>,
    policy: QuarantineConfig,
    max_poll: Duration,
    memory_limit: u64,
    requests: AtomicU64,
    panics: AtomicU64,
    timeouts: AtomicU64,
    blocked_polls: AtomicU64,
    /// Set after a blocked poll: the version's futures run on the host's isolation runtime
    /// so they cannot stall device workers again.
    offloaded: AtomicBool,
    /// The fast check on the request path; the reason is in `quarantine`.
    quarantined: AtomicBool,
    quarantine: Mutex<Option<Quarantine>>,
    window: Mutex<VecDeque<WindowEvent>>,
    memory: Mutex<MemoryState>,
    notices: Option<Sender<MonitorMessage>>,
}

#[derive(Debug, Clone)]
struct Quarantine {
    reason: String,
    at: SystemTime,
}

/// One failure in the sliding window, with the version's request count when it happened
/// (so the window's request count is a subtraction, not a per-request record).
struct WindowEvent {
    at: Instant,
    failure: Failure,
    requests_then: u64,
}

/// Every health record of the process, by id. Append-only: records are never freed.
static TABLE: Mutex<Vec<&'static VersionHealth>> = Mutex::new(Vec::new());

/// The health record with id `id`.
pub(super) fn by_id(id: u32) -> Option<&'static VersionHealth> {
    lock(&TABLE).get(id as usize).copied()
}

/// The limits a version's health is judged by, from the host's configuration.
#[derive(Debug, Clone)]
pub struct HealthLimits {
    pub quarantine: QuarantineConfig,
    pub max_poll: Duration,
    pub memory_limit: u64,
}

/// Most events kept in a window: enough for any sane threshold, bounded for an insane rate.
const WINDOW_CAPACITY: usize = 4096;

#[derive(Default)]
struct MemoryState {
    last: Option<(Instant, PluginStats)>,
    allocation_rate: f64,
    /// Live bytes when the version was first seen over its limit (the warning).
    warned_at: Option<u64>,
}

/// Counts and state for the admin API.
#[derive(Debug, Clone, Serialize)]
pub struct HealthView {
    pub requests: u64,
    pub panics: u64,
    pub timeouts: u64,
    pub blocked_polls: u64,
    /// Its futures run on the isolation runtime since a blocked poll.
    pub offloaded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantined_at_unix_ms: Option<u128>,
}

/// The sampled heap of one loaded copy.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryView {
    pub live_bytes: u64,
    pub peak_bytes: u64,
    pub allocations: u64,
    pub allocations_per_sec: f64,
    pub limit_bytes: u64,
    pub over_limit: bool,
}

/// What a memory sample says about the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryVerdict {
    Within,
    /// First seen over the limit: warn.
    OverLimit,
    /// Over the limit and grown since the warning: quarantine.
    StillGrowing,
    /// Over the limit, not grown since the warning.
    Holding,
}

impl VersionHealth {
    /// A fresh record for a version, leaked on purpose (see the type's documentation) and
    /// entered in the process's table so the watchdog can find it by id.
    pub fn leak(
        label: String,
        routes: Vec<String>,
        limits: HealthLimits,
        notices: Option<Sender<MonitorMessage>>,
    ) -> &'static Self {
        super::watchdog::watch_limit(limits.max_poll);
        let mut table = lock(&TABLE);
        let id = u32::try_from(table.len()).unwrap_or(u32::MAX);
        let health: &'static Self = Box::leak(Box::new(Self {
            id,
            label,
            routes,
            policy: limits.quarantine,
            max_poll: limits.max_poll,
            memory_limit: limits.memory_limit,
            requests: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            blocked_polls: AtomicU64::new(0),
            offloaded: AtomicBool::new(false),
            quarantined: AtomicBool::new(false),
            quarantine: Mutex::new(None),
            window: Mutex::new(VecDeque::new()),
            memory: Mutex::new(MemoryState::default()),
            notices,
        }));
        table.push(health);
        health
    }

    /// Its id in the process's table of health records.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// How long one poll of its code may hold a thread.
    pub fn max_poll(&self) -> Duration {
        self.max_poll
    }

    /// One more request started in this version.
    #[inline]
    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// True once the version is out of traffic.
    #[inline]
    pub fn is_quarantined(&self) -> bool {
        self.quarantined.load(Ordering::Relaxed)
    }

    /// True once a blocked poll was seen: run its futures away from device workers.
    #[inline]
    pub fn is_offloaded(&self) -> bool {
        self.offloaded.load(Ordering::Relaxed)
    }

    /// `METHOD /pattern` of route `index`.
    pub fn route(&self, index: u32) -> &str {
        self.routes
            .get(index as usize)
            .map_or("(unknown route)", String::as_str)
    }

    /// Records a failure; quarantines the version when it crosses its policy's threshold.
    pub fn record(&self, failure: Failure) {
        let counter = match failure {
            Failure::Panic => &self.panics,
            Failure::Timeout => &self.timeouts,
            Failure::BlockedPoll => {
                self.offloaded.store(true, Ordering::Relaxed);
                &self.blocked_polls
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(reason) = self.judge(failure) {
            self.quarantine(reason);
        }
    }

    /// Records `count` panics the SDK contained out of the host's sight (sampled).
    pub fn record_panics(&self, count: u64) {
        for _ in 0..count.min(WINDOW_CAPACITY as u64) {
            self.record(Failure::Panic);
        }
    }

    /// Takes the version out of traffic (once; later calls keep the first reason).
    pub fn quarantine(&self, reason: String) {
        let mut slot = lock(&self.quarantine);
        if slot.is_some() {
            return;
        }
        *slot = Some(Quarantine {
            reason: reason.clone(),
            at: SystemTime::now(),
        });
        self.quarantined.store(true, Ordering::Release);
        drop(slot);
        tracing::error!(plugin = %self.label, %reason, "version quarantined: it takes no new requests");
        if let Some(notices) = &self.notices {
            let _ = notices.send(MonitorMessage::Quarantined(QuarantineNotice {
                label: self.label.clone(),
                reason,
            }));
        }
    }

    /// Puts a quarantined version back in traffic (an operator's call): the quarantine and
    /// the failure window are cleared, so only new failures can quarantine it again. Returns
    /// the reason it was quarantined for, `None` if it was not.
    pub fn lift_quarantine(&self) -> Option<String> {
        let mut slot = lock(&self.quarantine);
        let lifted = slot.take()?;
        lock(&self.window).clear();
        self.quarantined.store(false, Ordering::Release);
        drop(slot);
        tracing::warn!(plugin = %self.label, reason = %lifted.reason, "quarantine lifted: the version takes requests again");
        Some(lifted.reason)
    }

    /// Adds `failure` to the window; the reason to quarantine, if the window now warrants it.
    fn judge(&self, failure: Failure) -> Option<String> {
        let now = Instant::now();
        let requests = self.requests.load(Ordering::Relaxed);
        let mut window = lock(&self.window);
        window.push_back(WindowEvent {
            at: now,
            failure,
            requests_then: requests,
        });
        while window.len() > WINDOW_CAPACITY
            || window
                .front()
                .is_some_and(|event| now.duration_since(event.at) > self.policy.window)
        {
            window.pop_front();
        }
        let count = |kind: Failure| window.iter().filter(|e| e.failure == kind).count() as u64;
        let (panics, timeouts, blocked) = (
            count(Failure::Panic),
            count(Failure::Timeout),
            count(Failure::BlockedPoll),
        );
        let requests_in_window = window
            .front()
            .map_or(1, |first| requests.saturating_sub(first.requests_then) + 1);
        let ratio = (panics + timeouts) as f64 / requests_in_window.max(1) as f64;
        let ratio_ok = ratio >= self.policy.min_failure_ratio;
        let seconds = self.policy.window.as_secs();
        let over = |threshold: u32, seen: u64| threshold > 0 && seen >= u64::from(threshold);
        if over(self.policy.blocked_polls, blocked) {
            return Some(format!(
                "{blocked} polls blocked a worker thread longer than the limit within {seconds} s"
            ));
        }
        if over(self.policy.panics, panics) && ratio_ok {
            return Some(format!(
                "{panics} panics in {requests_in_window} requests within {seconds} s"
            ));
        }
        if over(self.policy.timeouts, timeouts) && ratio_ok {
            return Some(format!(
                "{timeouts} handler timeouts in {requests_in_window} requests within {seconds} s"
            ));
        }
        None
    }

    /// Takes one heap sample of the version's copy and judges it against the limit.
    pub fn observe_memory(&self, stats: PluginStats, now: Instant) -> MemoryVerdict {
        let mut memory = lock(&self.memory);
        if let Some((then, previous)) = memory.last {
            let seconds = now.duration_since(then).as_secs_f64();
            if seconds > 0.0 {
                memory.allocation_rate =
                    stats.allocations.saturating_sub(previous.allocations) as f64 / seconds;
            }
        }
        memory.last = Some((now, stats));
        if stats.live_bytes <= self.memory_limit {
            memory.warned_at = None;
            return MemoryVerdict::Within;
        }
        match memory.warned_at {
            None => {
                memory.warned_at = Some(stats.live_bytes);
                MemoryVerdict::OverLimit
            }
            Some(at_warning) if stats.live_bytes > at_warning => MemoryVerdict::StillGrowing,
            Some(_) => MemoryVerdict::Holding,
        }
    }

    pub fn memory_limit(&self) -> u64 {
        self.memory_limit
    }

    /// The last heap sample, if one was taken.
    pub fn memory_view(&self) -> Option<MemoryView> {
        let memory = lock(&self.memory);
        memory.last.map(|(_, stats)| MemoryView {
            live_bytes: stats.live_bytes,
            peak_bytes: stats.peak_bytes,
            allocations: stats.allocations,
            allocations_per_sec: memory.allocation_rate,
            limit_bytes: self.memory_limit,
            over_limit: stats.live_bytes > self.memory_limit,
        })
    }

    /// The contained-panic counters of the last sample (to count only what is new).
    pub fn last_stats(&self) -> Option<PluginStats> {
        lock(&self.memory).last.map(|(_, stats)| stats)
    }

    pub fn view(&self) -> HealthView {
        let quarantine = lock(&self.quarantine).clone();
        HealthView {
            requests: self.requests.load(Ordering::Relaxed),
            panics: self.panics.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            blocked_polls: self.blocked_polls.load(Ordering::Relaxed),
            offloaded: self.is_offloaded(),
            quarantined_at_unix_ms: quarantine.as_ref().map(|q| {
                q.at.duration_since(SystemTime::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0)
            }),
            quarantine_reason: quarantine.map(|q| q.reason),
        }
    }

    /// Why the version is quarantined, if it is.
    pub fn quarantine_reason(&self) -> Option<String> {
        lock(&self.quarantine).as_ref().map(|q| q.reason.clone())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain counters: a panic elsewhere while holding the lock leaves them usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests;
