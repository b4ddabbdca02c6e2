//! The poll watchdog: sees, from outside, a poll of plugin code that holds a thread too long.
//!
//! A handler that blocks its thread (`std::thread::sleep`, a spin, synchronous I/O) never
//! returns to the runtime, so nothing on that thread can notice. Instead each thread that
//! polls plugin code owns a slot in a fixed table, and marks in it which version and route
//! it is polling and since when (a coarse clock: one relaxed load and three relaxed stores
//! per poll). One watchdog thread per process advances the clock after each of its sleeps
//! and scans the slots: a poll that has been running longer than its version's `max_poll`
//! is logged with plugin@version and route, counted once, and recorded toward quarantine.
//!
//! The clock counts the watchdog's sleeps, not wall time: if the watchdog itself is delayed
//! (an overloaded machine), polls look shorter, never longer, so a report is never a false
//! alarm.
//!
//! Why the sleep follows the finest `max_poll` instead of being short: every wake-up of
//! this thread costs CPU on the cores that serve devices (about 12 µs each on the build
//! machine, timer and scheduler included). At the old fixed 5 ms that was 2.4 ms of CPU per
//! second with nothing to watch, and 1 % of the host's CPU under the W3 fan-out benchmark.
//! A tenth of the limit keeps its resolution at 10 %: 25 ms for the default 250 ms.
//!
//! The exception is while the deployer works ([`Pacing`]): then the watchdog wakes every
//! 250 µs, because its wake-ups are what hands the core back from a loading deployer to the
//! serving thread.

use std::{
    cell::Cell,
    sync::{
        Mutex, Once,
        atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use super::{Failure, VersionHealth, health};

/// The watchdog sleeps a tenth of the finest `max_poll` of any version loaded so far...
const SLEEPS_PER_LIMIT: u64 = 10;
/// ...but never less than this (the resolution of small limits)...
const MIN_SLEEP_US: u64 = 5_000;
/// ...nor more (also its sleep before any version has loaded).
const MAX_SLEEP_US: u64 = 25_000;

/// Threads that can be watched at once (a thread gives its slot back when it exits); a
/// thread beyond them polls unwatched.
const SLOT_COUNT: usize = 1024;

/// What one thread is polling right now.
#[repr(align(64))]
struct PollSlot {
    /// The [`CLOCK`] word the current poll started at; 0 when the thread is not in plugin
    /// code.
    started: AtomicU64,
    /// The version being polled, as its health record's id.
    health: AtomicU32,
    route: AtomicU32,
    /// The `started` value already reported, so one blocked poll counts once.
    reported: AtomicU64,
}

#[allow(
    clippy::declare_interior_mutable_const,
    reason = "the constant only initialises the slot table; each element is its own static"
)]
const IDLE: PollSlot = PollSlot {
    started: AtomicU64::new(0),
    health: AtomicU32::new(0),
    route: AtomicU32::new(0),
    reported: AtomicU64::new(0),
};

static SLOTS: [PollSlot; SLOT_COUNT] = [IDLE; SLOT_COUNT];
/// Slots handed out so far (the watchdog scans only these).
static CLAIMED: AtomicUsize = AtomicUsize::new(0);
/// The coarse clock, written only by the watchdog, in one word so that a poll reads it
/// with one load: the low [`CLOCK_BITS`] bits count the microseconds the watchdog has
/// slept (from 1, so that 0 means idle), the high bits the length of the sleep under way.
/// A poll that starts at reading `(at, sleeping)` may have missed up to `sleeping` of the
/// next step, so it has run at least `now - at - sleeping` when the clock reads `now`.
static CLOCK: AtomicU64 = AtomicU64::new(clock_word(1, MAX_SLEEP_US));
const CLOCK_BITS: u32 = 48;
/// The finest `max_poll` of any version loaded in this process, in microseconds
/// (`u64::MAX` before the first).
static FINEST_LIMIT_US: AtomicU64 = AtomicU64::new(u64::MAX);

/// Deployer turns in progress ([`Pacing`] guards held); while any is, the watchdog sleeps
/// [`PACING_SLEEP_US`].
static PACING: AtomicUsize = AtomicUsize::new(0);
/// The watchdog's sleep while a deployer turn is in progress.
const PACING_SLEEP_US: u64 = 250;
/// The watchdog thread, to cut its sleep short when pacing starts.
static WATCHDOG: std::sync::OnceLock<std::thread::Thread> = std::sync::OnceLock::new();

/// Held by the deployer while it works: the watchdog then wakes every [`PACING_SLEEP_US`],
/// and each wake-up ends the deployer's (or its load probe's) turn on the core.
///
/// Why: without kernel preemption, a nicer thread the scheduler has picked keeps the core
/// until the next tick (4 ms at 250 Hz) or until it blocks, so each load took bursts of up to
/// 4 ms from the serving thread on its core. A thread waking on that core is the scheduler's
/// other chance to look: the woken watchdog (nice 0) preempts the nicer deployer, and when
/// it sleeps again the scheduler picks the serving thread, whose claim is the larger. The
/// old fixed 5 ms watchdog did this by accident; paced at 250 µs, W2's p99 during 5 swaps a
/// second fell from about 1.0 ms to 0.65 ms by hand (steady 0.35 ms), with either deployer
/// priority; 100 µs did no better and cost more. The price is a wake-up (about 12 µs of
/// CPU) every 250 µs for as long as a deployer turn lasts, its waits for a load probe or an
/// init hook included (2.3 to 2.7 ms of CPU per swap in the benchmark's R1), and nothing
/// between turns.
pub struct Pacing(());

impl Pacing {
    pub fn start() -> Self {
        if PACING.fetch_add(1, Ordering::Relaxed) == 0
            && let Some(watchdog) = WATCHDOG.get()
        {
            watchdog.unpark();
        }
        Self(())
    }
}

impl Drop for Pacing {
    fn drop(&mut self) {
        PACING.fetch_sub(1, Ordering::Relaxed);
    }
}

static STARTED: Once = Once::new();

/// Slots whose thread exited, for the next thread to reuse.
static FREE: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// A thread's claim on a slot, given back when the thread exits.
struct SlotClaim(Option<usize>);

impl SlotClaim {
    fn claim() -> Self {
        let reused = FREE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let index = reused.or_else(|| {
            let index = CLAIMED.fetch_add(1, Ordering::Relaxed);
            if index < SLOT_COUNT {
                Some(index)
            } else {
                CLAIMED.store(SLOT_COUNT, Ordering::Relaxed);
                None
            }
        });
        Self(index)
    }
}

impl Drop for SlotClaim {
    fn drop(&mut self) {
        if let Some(index) = self.0 {
            SLOTS[index].started.store(0, Ordering::Release);
            FREE.lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(index);
        }
    }
}

thread_local! {
    /// This thread's slot index plus one (0: none yet). Constant-initialised with no
    /// destructor, so reading it on every poll is a plain thread-local load.
    static MY_INDEX: Cell<usize> = const { Cell::new(0) };
    /// The claim that gives the slot back when the thread exits; touched only to claim.
    static MY_CLAIM: SlotClaim = SlotClaim::claim();
}

/// The calling thread's slot, claimed on its first plugin poll; `None` when the table is
/// full or the thread is being torn down (that poll goes unwatched).
#[inline]
fn my_slot() -> Option<&'static PollSlot> {
    let index = MY_INDEX.get();
    if index != 0 {
        return SLOTS.get(index - 1);
    }
    let claimed = MY_CLAIM.try_with(|claim| claim.0).ok().flatten()?;
    MY_INDEX.set(claimed + 1);
    SLOTS.get(claimed)
}

/// Runtimes whose parked workers the watchdog wakes when it sees a blocked poll; the most
/// recent [`RUNTIMES_KEPT`] (a process runs one host, tests run many).
static RUNTIMES: Mutex<Vec<tokio::runtime::Handle>> = Mutex::new(Vec::new());
const RUNTIMES_KEPT: usize = 64;

/// Has the watchdog wake `runtime`'s parked workers whenever a poll blocks a thread.
///
/// Why: a worker blocked in plugin code may be the one that last drove the runtime's I/O
/// and timer driver, while every other worker sleeps on its condition variable with
/// nothing queued. Then nobody polls the driver and the whole runtime stalls (every
/// connection, every timer) until the blocked poll returns. A task spawned from outside
/// the runtime wakes one parked worker; having run it, that worker parks on the free
/// driver, and I/O flows again.
pub fn keep_awake(runtime: tokio::runtime::Handle) {
    let mut runtimes = RUNTIMES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if runtimes.len() == RUNTIMES_KEPT {
        runtimes.remove(0);
    }
    runtimes.push(runtime);
}

/// Wakes a parked worker of every runtime kept awake (a runtime already shut down drops
/// the empty task at once).
fn wake_runtimes() {
    let runtimes = RUNTIMES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for runtime in runtimes.iter() {
        drop(runtime.spawn(async {}));
    }
}

/// Starts the process's watchdog thread (once; later calls do nothing).
pub fn ensure_running() {
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("frontdoor-watchdog".into())
            .spawn(watch);
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start the poll watchdog; blocked polls go unseen");
        }
    });
}

/// Marks the calling thread as polling `route` of `health` until the mark is dropped.
pub struct PollMark {
    slot: Option<&'static PollSlot>,
    /// What the slot held before (a poll nested in another restores its outer mark).
    outer: (u64, u32, u32),
}

/// Marks the start of a poll of plugin code on this thread.
#[inline]
pub fn enter(health: &'static VersionHealth, route: u32) -> PollMark {
    let slot = my_slot();
    let Some(slot) = slot else {
        return PollMark {
            slot: None,
            outer: (0, 0, 0),
        };
    };
    let outer = (
        slot.started.load(Ordering::Relaxed),
        slot.health.load(Ordering::Relaxed),
        slot.route.load(Ordering::Relaxed),
    );
    slot.health.store(health.id(), Ordering::Relaxed);
    slot.route.store(route, Ordering::Relaxed);
    // Release: a watchdog that sees this start sees the version and route stored above.
    slot.started
        .store(CLOCK.load(Ordering::Relaxed), Ordering::Release);
    PollMark {
        slot: Some(slot),
        outer,
    }
}

impl Drop for PollMark {
    #[inline]
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            let (started, health, route) = self.outer;
            slot.started.store(0, Ordering::Release);
            if started != 0 {
                slot.health.store(health, Ordering::Relaxed);
                slot.route.store(route, Ordering::Relaxed);
                slot.started.store(started, Ordering::Release);
            }
        }
    }
}

/// A poll running right now for longer than its version's limit.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BlockedPoll {
    pub plugin: String,
    pub route: String,
    pub running_ms: u64,
}

/// The polls currently holding a thread longer than their version's limit.
pub fn blocked_now() -> Vec<BlockedPoll> {
    let (now, _) = clock_parts(CLOCK.load(Ordering::Relaxed));
    claimed_slots()
        .iter()
        .filter_map(|slot| read_slot(slot, now))
        .filter(|(health, _, running_us, _)| is_blocked(health, *running_us))
        .map(|(health, route, running_us, _)| BlockedPoll {
            plugin: health.label.clone(),
            route: health.route(route).to_owned(),
            running_ms: running_us / 1000,
        })
        .collect()
}

/// Tells the watchdog that a version may hold a thread for at most `max_poll`: it looks
/// often enough to see that limit passed within a tenth of it (within its bounds).
pub fn watch_limit(max_poll: Duration) {
    let micros = u64::try_from(max_poll.as_micros()).unwrap_or(u64::MAX);
    FINEST_LIMIT_US.fetch_min(micros, Ordering::Relaxed);
}

/// How long the watchdog sleeps between looks when the finest limit is `finest_limit_us`
/// and `pacing` loads are in progress.
fn sleep_us(finest_limit_us: u64, pacing: usize) -> u64 {
    if pacing > 0 {
        PACING_SLEEP_US
    } else {
        (finest_limit_us / SLEEPS_PER_LIMIT).clamp(MIN_SLEEP_US, MAX_SLEEP_US)
    }
}

/// The clock after a sleep announced as `announced` µs that took `slept` µs: it moves by
/// what was slept (a pacing start cuts a sleep short) but never by more than announced (a
/// delayed watchdog makes polls look shorter, never longer).
fn advanced(now_us: u64, announced: u64, slept: u64) -> u64 {
    now_us.saturating_add(slept.min(announced))
}

const fn clock_word(now_us: u64, sleeping_us: u64) -> u64 {
    (sleeping_us << CLOCK_BITS) | (now_us & ((1 << CLOCK_BITS) - 1))
}

/// `(microseconds slept so far, length of the sleep under way)`.
const fn clock_parts(word: u64) -> (u64, u64) {
    (word & ((1 << CLOCK_BITS) - 1), word >> CLOCK_BITS)
}

/// Microseconds a poll that started at clock word `started` has surely run when the clock
/// reads `now_us`: only the sleeps that began after it started count.
fn running_us(started: u64, now_us: u64) -> u64 {
    let (at, sleeping) = clock_parts(started);
    now_us.saturating_sub(at.saturating_add(sleeping))
}

fn watch() {
    let _ = WATCHDOG.set(std::thread::current());
    let (mut now, _) = clock_parts(CLOCK.load(Ordering::Relaxed));
    loop {
        let sleep = sleep_us(
            FINEST_LIMIT_US.load(Ordering::Relaxed),
            PACING.load(Ordering::Relaxed),
        );
        CLOCK.store(clock_word(now, sleep), Ordering::Relaxed);
        let before = std::time::Instant::now();
        // Parked, not asleep: a pacing start cuts the sleep short.
        std::thread::park_timeout(Duration::from_micros(sleep));
        let slept = u64::try_from(before.elapsed().as_micros()).unwrap_or(u64::MAX);
        now = advanced(now, sleep, slept);
        for slot in claimed_slots() {
            let Some((health, route, running_us, started)) = read_slot(slot, now) else {
                continue;
            };
            if !is_blocked(health, running_us) || slot.reported.load(Ordering::Relaxed) == started {
                continue;
            }
            slot.reported.store(started, Ordering::Relaxed);
            tracing::warn!(
                plugin = %health.label,
                route = %health.route(route),
                running_ms = running_us / 1000,
                limit_ms = health.max_poll().as_millis() as u64,
                "a poll of plugin code is blocking its worker thread"
            );
            health.record(Failure::BlockedPoll);
            wake_runtimes();
        }
    }
}

fn claimed_slots() -> &'static [PollSlot] {
    &SLOTS[..CLAIMED.load(Ordering::Relaxed).min(SLOT_COUNT)]
}

/// A consistent reading of a busy slot: (version, route, microseconds surely running, start
/// word).
fn read_slot(slot: &PollSlot, now_us: u64) -> Option<(&'static VersionHealth, u32, u64, u64)> {
    let started = slot.started.load(Ordering::Acquire);
    if started == 0 {
        return None;
    }
    let id = slot.health.load(Ordering::Relaxed);
    let route = slot.route.load(Ordering::Relaxed);
    // The thread may have finished and started another poll in between: only a slot whose
    // start did not change describes one poll.
    if slot.started.load(Ordering::Acquire) != started {
        return None;
    }
    let health = health::by_id(id)?;
    Some((health, route, running_us(started, now_us), started))
}

fn is_blocked(health: &VersionHealth, running_us: u64) -> bool {
    Duration::from_micros(running_us) > health.max_poll()
}

#[cfg(test)]
mod tests;
