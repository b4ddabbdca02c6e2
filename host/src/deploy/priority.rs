//! The deployer thread's place in the scheduler: loading is background work, and on a core
//! busy serving devices it should take as little of the CPU from serving threads as it can.
//!
//! By default the thread is made nicer (`deployer_nice`). That shrinks its share on a busy
//! core but not its bursts: with a 250 Hz tick and no kernel preemption (common server
//! kernels), a thread the scheduler picks keeps the core until the next tick or until it
//! blocks, nice or not, so each reload would take 1-4 ms bursts from the serving thread. The
//! poll watchdog cuts them to about 250 µs by waking that often while the deployer works
//! (`containment::watchdog::Pacing`); W2's p99 still about doubles at 5 reloads a second
//! (R1). With `deployer_idle` the thread runs
//! `SCHED_IDLE`: the kernel preempts it as soon as any other thread wakes and gives it a
//! minimal share (weight 3 against 1024) while one runs, so reloads use only time nothing
//! else wants. That also means a reload waits while the machine is busy with anything,
//! which is why it is opt-in; the probe's and init hook's deadlines leave out that wait
//! (`loader::work_deadline`). An unprivileged thread cannot leave `SCHED_IDLE` again
//! (`sched_setscheduler(2)`, `RLIMIT_NICE`), so the choice is made once, at start.
//!
//! Threads and processes the deployer starts (the load probe, an init hook's thread) inherit
//! both its policy and its nice value: the kernel copies them at `clone`. The load probe,
//! the larger part of a reload's CPU, then makes itself `SCHED_IDLE` before it execs unless
//! the deployer is idle already; an idle probe held back too long runs again at the
//! deployer's priority (`loader::probe`), so its wait is bounded where the deployer's would
//! not be.

/// Lowers the calling thread's priority: its nice value by `nice` over the one it was
/// started with (capped at 19), then, with `idle`, its policy to `SCHED_IDLE`. Lowering
/// needs no privilege; a failure costs only the priority, so it is logged.
pub(crate) fn lower(nice: i32, idle: bool) {
    if nice != 0 {
        raise_nice(nice);
    }
    if idle {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: sched_setscheduler(2) reads the `sched_param` we pass by reference, which
        // lives across the call; pid 0 is the calling thread alone (Linux schedules each
        // thread on its own), and SCHED_IDLE takes priority 0.
        let result = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
        if result != 0 {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "cannot run the deployer thread as SCHED_IDLE; it keeps its nice value"
            );
        }
    }
}

/// Raises the calling thread's nice value by `nice` over the one it was started with (the
/// process's), capped at 19: relative, so the deployer stays below the serving threads
/// even in a process started niced.
fn raise_nice(nice: i32) {
    let thread = crate::loader::current_thread_id() as libc::id_t;
    // SAFETY: getpriority(2) and setpriority(2) read no memory of ours; on Linux,
    // PRIO_PROCESS with a thread id reads or changes that thread's nice value alone (each
    // thread is scheduled on its own). getpriority's -1 can be a nice value: errno is not
    // needed, a wrong base only shifts the result and the cap keeps it valid.
    let started_at = unsafe { libc::getpriority(libc::PRIO_PROCESS, thread) };
    let target = started_at.saturating_add(nice).min(19);
    // SAFETY: as above.
    let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, thread, target) };
    if result != 0 {
        tracing::warn!(
            nice,
            error = %std::io::Error::last_os_error(),
            "cannot lower the deployer thread's priority; loads compete with serving as equals"
        );
    }
}
