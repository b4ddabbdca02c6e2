//! Test support: a core kept busy by a spinning thread at normal priority, so background
//! work (`SCHED_IDLE`) placed on it is held back from the CPU for as long as the test wants.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    thread::JoinHandle,
};

/// A spinning thread pinned to one core; it stops when this is dropped.
pub(crate) struct BusyCore {
    pub(crate) core: usize,
    stop: Arc<AtomicBool>,
    spinner: Option<JoinHandle<()>>,
}

impl BusyCore {
    /// Keeps the calling thread's current core busy; returns once the spinner runs there.
    pub(crate) fn here() -> Self {
        // SAFETY: sched_getcpu(3) takes no arguments and touches no memory.
        let core = usize::try_from(unsafe { libc::sched_getcpu() }).unwrap_or(0);
        let stop = Arc::new(AtomicBool::new(false));
        let (spinning, spins) = mpsc::channel();
        let spinner = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                pin_to(core);
                spinning.send(()).expect("the test waits");
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        };
        spins.recv().expect("the busy thread runs");
        Self {
            core,
            stop,
            spinner: Some(spinner),
        }
    }
}

impl Drop for BusyCore {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(spinner) = self.spinner.take() {
            let _ = spinner.join();
        }
    }
}

/// Pins the calling thread to `core` (and whatever it starts from now on: threads and
/// processes inherit it).
pub(crate) fn pin_to(core: usize) {
    // SAFETY: cpu_set_t is plain data, valid zeroed; CPU_SET writes a bit inside it (`core`
    // came from sched_getcpu, so it is below CPU_SETSIZE); sched_setaffinity(2) reads the
    // set we pass with its size, and pid 0 is the calling thread.
    let pinned = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    assert_eq!(pinned, 0, "{}", std::io::Error::last_os_error());
}
