//! Starts idle probe children from a thread that runs `SCHED_IDLE`: a child inherits its
//! policy (and CPU affinity) from the thread that starts it, so it is idle from its first
//! instruction, exec and the dynamic linker included. Setting the policy in a `pre_exec`
//! hook instead would make std fork the whole host rather than `posix_spawn` it (a hook
//! rules out `vfork`): copying the host's page tables on the deployer thread, and
//! copy-on-write faults for serving threads after.
//!
//! The spawner thread itself is idle too, so on a saturated core it may not get to a spawn
//! for a while: the caller waits at most its bound for the child and then gives up on it,
//! and a child started after that is killed at once.

use std::{
    io,
    process::{Child, Command},
    sync::{Arc, Condvar, Mutex, OnceLock, mpsc},
    time::{Duration, Instant},
};

/// One request to the spawner and its answer.
struct Handoff {
    state: Mutex<HandoffState>,
    changed: Condvar,
}

enum HandoffState {
    Waiting,
    Started(io::Result<Child>),
    /// The caller stopped waiting; the spawner kills whatever it starts for this request.
    GivenUp,
    /// The caller took the answer.
    Taken,
}

struct Request {
    command: Command,
    /// The caller's CPU affinity, which the child should have rather than the spawner's.
    affinity: Option<libc::cpu_set_t>,
    handoff: Arc<Handoff>,
}

/// The spawner thread's inbox, started on first use.
fn inbox() -> &'static Mutex<mpsc::Sender<Request>> {
    static INBOX: OnceLock<Mutex<mpsc::Sender<Request>>> = OnceLock::new();
    INBOX.get_or_init(|| {
        let (sender, receiver) = mpsc::channel();
        let started = std::thread::Builder::new()
            .name("frontdoor-probe-spawner".into())
            .spawn(move || serve(&receiver));
        if let Err(error) = started {
            // The receiver is gone with the closure: every spawn then reports the failure.
            tracing::warn!(%error, "cannot start the idle probe spawner thread");
        }
        Mutex::new(sender)
    })
}

/// Starts `command` as an idle child within `wait` (the time the spawner may take to get a
/// CPU); `None` once that has passed without a child, which is then never started or killed,
/// or when there is no spawner thread.
pub(super) fn spawn(command: Command, wait: Duration) -> Option<io::Result<Child>> {
    let handoff = Arc::new(Handoff {
        state: Mutex::new(HandoffState::Waiting),
        changed: Condvar::new(),
    });
    let request = Request {
        command,
        affinity: calling_thread_affinity(),
        handoff: handoff.clone(),
    };
    let sent = inbox()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .send(request);
    if sent.is_err() {
        // No spawner (it could not be started): the caller runs the probe at its own
        // priority, as it does when an idle one is held back.
        tracing::warn!(
            "the idle probe spawner thread is not running; probing at the deployer's priority"
        );
        return None;
    }
    let until = Instant::now() + wait;
    let mut state = lock(&handoff);
    loop {
        match std::mem::replace(&mut *state, HandoffState::Taken) {
            HandoffState::Started(child) => return Some(child),
            waiting => *state = waiting,
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            *state = HandoffState::GivenUp;
            return None;
        }
        state = handoff
            .changed
            .wait_timeout(state, left)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .0;
    }
}

/// The spawner thread: idle, starting one child per request.
fn serve(requests: &mpsc::Receiver<Request>) {
    crate::deploy::priority::lower(0, true);
    for Request {
        mut command,
        affinity,
        handoff,
    } in requests.iter()
    {
        if matches!(*lock(&handoff), HandoffState::GivenUp) {
            continue;
        }
        if let Some(affinity) = affinity {
            set_calling_thread_affinity(&affinity);
        }
        let started = command.spawn();
        let mut state = lock(&handoff);
        match (&*state, started) {
            (HandoffState::GivenUp, Ok(mut child)) => {
                drop(state);
                // Its caller has run the probe another way; nothing of this one may stay.
                super::process::kill_group(child.id());
                let _ = child.wait();
            }
            (HandoffState::GivenUp, Err(_)) => {}
            (_, started) => {
                *state = HandoffState::Started(started);
                handoff.changed.notify_all();
            }
        }
    }
}

fn lock(handoff: &Handoff) -> std::sync::MutexGuard<'_, HandoffState> {
    // Plain state, consistent after any panic.
    handoff
        .state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The calling thread's CPU affinity, if it can be read.
fn calling_thread_affinity() -> Option<libc::cpu_set_t> {
    // SAFETY: cpu_set_t is plain data, valid zeroed; sched_getaffinity(2) writes at most
    // the size we pass into it, and pid 0 is the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        (libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0)
            .then_some(set)
    }
}

/// Moves the calling thread to `set`; a failure leaves it where it was (the child then runs
/// where the spawner may, which costs nothing but placement).
fn set_calling_thread_affinity(set: &libc::cpu_set_t) {
    // SAFETY: sched_setaffinity(2) reads the set we pass with its size; pid 0 is the
    // calling thread.
    let _ = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) };
}
