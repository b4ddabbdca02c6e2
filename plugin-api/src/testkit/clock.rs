//! Virtual time and the executor that drives a handler on it.
//!
//! A handler under test runs on the test's own thread, polled by [`run`]. Whenever it waits
//! and nothing woke it, the clock jumps straight to the next timer (a `ctx.sleep`, a fake
//! backend's latency or timeout) instead of sleeping: a test of a 2 s timeout takes no
//! time, and its outcome never depends on the machine's speed.

use std::{
    cell::RefCell,
    collections::BTreeMap,
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
    time::Duration,
};

/// A virtual clock: the time since the request started, and the timers waiting on it.
#[derive(Default)]
pub(crate) struct Clock {
    state: Mutex<ClockState>,
}

#[derive(Default)]
struct ClockState {
    now: Duration,
    /// Pending timers by (deadline, sequence number), each with its task's waker.
    timers: BTreeMap<(Duration, u64), Waker>,
    next_timer: u64,
}

impl Clock {
    pub(crate) fn now(&self) -> Duration {
        self.lock().now
    }

    /// A future that completes once the clock reaches now + `duration`.
    pub(crate) fn sleep(self: &Arc<Self>, duration: Duration) -> Sleep {
        Sleep {
            clock: self.clone(),
            duration,
            deadline: None,
            key: None,
        }
    }

    /// The earliest pending timer.
    fn next_deadline(&self) -> Option<Duration> {
        self.lock()
            .timers
            .keys()
            .next()
            .map(|(deadline, _)| *deadline)
    }

    /// Moves the clock to `to` (never backwards) and wakes every timer due by then.
    fn advance_to(&self, to: Duration) {
        let due: Vec<Waker> = {
            let mut state = self.lock();
            state.now = state.now.max(to);
            let now = state.now;
            let later = state.timers.split_off(&(now, u64::MAX));
            std::mem::replace(&mut state.timers, later)
                .into_values()
                .collect()
        };
        // Woken outside the lock: a waker may poll, and a poll may take the lock.
        due.into_iter().for_each(Waker::wake);
    }

    fn lock(&self) -> MutexGuard<'_, ClockState> {
        // No code runs under this lock that could panic halfway through a change.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Completes when the virtual clock reaches its deadline (set at its first poll).
pub(crate) struct Sleep {
    clock: Arc<Clock>,
    duration: Duration,
    deadline: Option<Duration>,
    key: Option<(Duration, u64)>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut state = this.clock.lock();
        let deadline = *this
            .deadline
            .get_or_insert_with(|| state.now.saturating_add(this.duration));
        if let Some(key) = this.key.take() {
            state.timers.remove(&key);
        }
        if state.now >= deadline {
            return Poll::Ready(());
        }
        let key = (deadline, state.next_timer);
        state.next_timer += 1;
        state.timers.insert(key, cx.waker().clone());
        this.key = Some(key);
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.clock.lock().timers.remove(&key);
        }
    }
}

thread_local! {
    /// The clock of the run this thread is polling, for `ctx.sleep` (which reaches the kit
    /// through the plugin-wide host services, not through the request).
    static CURRENT: RefCell<Option<Arc<Clock>>> = const { RefCell::new(None) };
}

/// The clock of the run in progress on this thread, if any.
pub(crate) fn current() -> Option<Arc<Clock>> {
    CURRENT.with(|current| current.borrow().clone())
}

/// Why [`run`] stopped without an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// The future was still pending when the clock reached the budget.
    OutOfTime,
    /// A poll panicked (past the SDK's own guards).
    Panicked,
}

/// Polls `future` to completion on virtual time, for at most `budget` of it. A future that
/// waits for nothing the clock can wake (no timer, no fake backend call) can never finish:
/// it is out of time at once, at the budget, as the host's handler timeout would end it.
pub(crate) fn run<F: Future>(
    clock: &Arc<Clock>,
    budget: Duration,
    future: F,
) -> Result<F::Output, Stopped> {
    let signal = Arc::new(Signal::default());
    let waker = Waker::from(signal.clone());
    let mut cx = Context::from_waker(&waker);
    // Current while the future is dropped too: its destructor is author code.
    let _current = Entered::new(clock.clone());
    let mut future = std::pin::pin!(future);
    loop {
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx))) {
            Ok(Poll::Ready(output)) => return Ok(output),
            Ok(Poll::Pending) => {}
            Err(_) => return Err(Stopped::Panicked),
        }
        if signal.woken.swap(false, Ordering::AcqRel) {
            continue;
        }
        match clock.next_deadline() {
            Some(next) if next <= budget => clock.advance_to(next),
            _ => {
                clock.advance_to(budget);
                return Err(Stopped::OutOfTime);
            }
        }
    }
}

/// Set by the waker; the executor polls again when it is.
#[derive(Default)]
struct Signal {
    woken: AtomicBool,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, Ordering::Release);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
    }
}

/// Makes a clock this thread's current one, restoring the previous one when dropped.
struct Entered {
    previous: Option<Arc<Clock>>,
}

impl Entered {
    fn new(clock: Arc<Clock>) -> Self {
        let previous = CURRENT.with(|current| current.replace(Some(clock)));
        Self { previous }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|current| current.replace(previous));
    }
}

#[cfg(test)]
mod tests;
