//! Deadlines for loading work that leave out the time the work waited for a CPU.
//!
//! The deployer and what it starts (the load probe, an init hook's thread) are background
//! work (a nicer thread, the probe first under `SCHED_IDLE`; see `deploy::priority`): on a
//! core that serving keeps busy they wait, runnable, for the time serving leaves, which can
//! be seconds. A wall-clock deadline would then refuse a good version for the host's load
//! rather than for anything the version did. Linux counts, per task, the time it spent runnable but not running
//! (`schedstat`'s second field, in nanoseconds); a [`WorkDeadline`] is a budget of wall
//! time minus that wait. A version is still refused for time it ran (a busy loop) or slept
//! (a hang, a slow call), never for time the scheduler held it back.
//!
//! Linux adds a wait to the count when it ends (the task gets a CPU), so a task queued right
//! now shows none of its current wait. A deadline that looks spent while its task is
//! runnable and has not run since the last look is therefore not judged yet: it is looked
//! at again [`RECHECK`] later, until the task runs (and its count is fresh) or sleeps.
//! The same looks tell how long the task has been held back so far, the wait it is in now
//! included ([`Standing::held_back`]): an idle probe held back too long is run again at the
//! deployer's priority (`probe::process`).
//!
//! A new thread that has not yet run far enough to report its id has used none of its
//! budget. Where the counts cannot be read (a kernel without `CONFIG_SCHED_INFO`, a task
//! gone), nothing is subtracted. Whatever the counts say, [`WALL_CAP`] times the budget of
//! wall time ends the wait, so a misreading kernel cannot hold a reload forever.

use std::{
    fs::File,
    os::unix::fs::FileExt as _,
    path::Path,
    time::{Duration, Instant},
};

/// However long the work waited for a CPU, it is refused after this many budgets of wall
/// time: a reload held back longer than that is better refused (and retried by the team)
/// than left pending with no answer.
pub(crate) const WALL_CAP: u32 = 20;

/// How soon a deadline that looks spent while its task waits in a run queue is looked at
/// again.
pub(crate) const RECHECK: Duration = Duration::from_millis(10);

/// A budget of time for one task (a thread or a process's main thread) counted from when
/// the deadline is made, not counting the task's time waiting for a CPU.
#[derive(Debug)]
pub(crate) struct WorkDeadline {
    budget: Duration,
    started: Instant,
    task: Task,
}

/// Where the task's scheduler counts are read.
#[derive(Debug)]
enum Task {
    /// `/proc/<pid>` or `/proc/self/task/<tid>`: its `schedstat` and `stat`.
    Counted {
        /// `None` where they cannot be opened: nothing is subtracted then.
        files: Option<CountFiles>,
        /// The wait already counted when the deadline was made.
        waited_before: Duration,
        /// The counts at the last look, to tell a task that runs from one that waits.
        last: Option<Counts>,
        /// The last look at which the task had run since the look before, or was not
        /// runnable: from then on, while it stays runnable without running, it is queued
        /// (a wait its count shows only once it ends).
        progressed_at: Instant,
    },
    /// A new thread that has not reported its id yet: it has not run, so all of the time
    /// so far was waiting to.
    NotStarted,
}

/// One look at a task's scheduler counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    /// CPU time it ran.
    ran: Duration,
    /// Time it waited runnable, up to its last arrival on a CPU.
    waited: Duration,
    /// How many times it arrived on a CPU.
    arrivals: u64,
    /// Running or waiting to (`R`), as opposed to sleeping or stopped.
    runnable: bool,
}

/// Where a deadline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Standing {
    /// Time to wait before looking again; zero once the budget is spent.
    pub(crate) left: Duration,
    /// Time the task waited for a CPU since the deadline was made, as counted so far.
    pub(crate) waited: Duration,
    /// `waited`, plus the wait it is in now if it has been runnable without running since
    /// an earlier look: how long the scheduler has held it back.
    pub(crate) held_back: Duration,
}

impl WorkDeadline {
    /// A deadline for the process `pid`, started just now; its main thread's counts are
    /// read (the probe does its work there).
    pub(crate) fn for_process(pid: u32, budget: Duration) -> Self {
        let files = CountFiles::open(Path::new(&format!("/proc/{pid}")));
        // The counts now are the first look: the next one tells whether it ran since.
        let first = files.as_ref().and_then(CountFiles::read);
        let waited_before = first.map_or(Duration::ZERO, |counts| counts.waited);
        let started = Instant::now();
        Self {
            budget,
            started,
            task: Task::Counted {
                files,
                waited_before,
                last: first,
                progressed_at: started,
            },
        }
    }

    /// A deadline for a thread about to be started, which reports its id when it runs:
    /// see [`WorkDeadline::know_thread`].
    pub(crate) fn for_new_thread(budget: Duration) -> Self {
        Self {
            budget,
            started: Instant::now(),
            task: Task::NotStarted,
        }
    }

    /// Names the task once a new thread of this process reports its id. Its counts started
    /// at zero when it was created, after this deadline was made, so all of its wait counts.
    pub(crate) fn know_thread(&mut self, tid: i32) {
        self.task = Task::Counted {
            files: CountFiles::open(Path::new(&format!("/proc/self/task/{tid}"))),
            waited_before: Duration::ZERO,
            last: None,
            progressed_at: self.started,
        };
    }

    /// Where the deadline stands now.
    pub(crate) fn standing(&mut self) -> Standing {
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(self.started);
        let (files, waited_before, last, progressed_at) = match &mut self.task {
            Task::NotStarted => return judge(self.budget, elapsed, elapsed, false),
            Task::Counted {
                files,
                waited_before,
                last,
                progressed_at,
            } => (files, *waited_before, last, progressed_at),
        };
        let Some(counts) = files.as_ref().and_then(CountFiles::read) else {
            return judge(self.budget, elapsed, Duration::ZERO, false);
        };
        // Runnable and not run since the last look (or no look yet to compare): it may be
        // queued now, with a wait its count does not show yet.
        let may_be_queued = counts.runnable
            && last.is_none_or(|last| last.ran == counts.ran && last.arrivals == counts.arrivals);
        *last = Some(counts);
        if !may_be_queued {
            *progressed_at = now;
        }
        let queued_now = now.saturating_duration_since(*progressed_at);
        let mut standing = judge(
            self.budget,
            elapsed,
            counts.waited.saturating_sub(waited_before),
            may_be_queued,
        );
        standing.held_back = standing.held_back.saturating_add(queued_now).min(elapsed);
        standing
    }
}

/// Where a budget stands after `elapsed` of wall time of which `waited` was spent waiting
/// for a CPU; a budget that looks spent while the count `may_be_stale` is looked at again
/// after [`RECHECK`], within the wall cap.
fn judge(budget: Duration, elapsed: Duration, waited: Duration, may_be_stale: bool) -> Standing {
    let used = elapsed.saturating_sub(waited);
    let by_work = budget.saturating_sub(used);
    let by_wall = budget.saturating_mul(WALL_CAP).saturating_sub(elapsed);
    let by_work = if by_work.is_zero() && may_be_stale {
        RECHECK
    } else {
        by_work
    };
    let waited = waited.min(elapsed);
    Standing {
        left: by_work.min(by_wall),
        waited,
        held_back: waited,
    }
}

/// A task's `schedstat` and `stat`, opened once: each look reads them again from the start
/// (procfs makes their text anew for a read at offset 0). Opening them cost more than
/// reading them: a third of the deployer's own CPU per reload went to `/proc` lookups.
#[derive(Debug)]
struct CountFiles {
    schedstat: File,
    stat: File,
}

impl CountFiles {
    /// The files in the task's `/proc` directory `dir`, if both open.
    fn open(dir: &Path) -> Option<Self> {
        Some(Self {
            schedstat: File::open(dir.join("schedstat")).ok()?,
            stat: File::open(dir.join("stat")).ok()?,
        })
    }

    /// The task's counts now; `None` once it is gone (or the text is not what Linux writes).
    fn read(&self) -> Option<Counts> {
        let mut schedstat = [0u8; 128];
        let mut stat = [0u8; 2048];
        let schedstat = read_from_start(&self.schedstat, &mut schedstat)?;
        let stat = read_from_start(&self.stat, &mut stat)?;
        parse_counts(
            std::str::from_utf8(schedstat).ok()?,
            std::str::from_utf8(stat).ok()?,
        )
    }
}

/// The whole of `file` read from offset 0 into `buf`; `None` when it does not fit (no
/// `schedstat` or `stat` comes near) or cannot be read.
fn read_from_start<'a>(file: &File, buf: &'a mut [u8]) -> Option<&'a [u8]> {
    let mut len = 0;
    loop {
        let read = file.read_at(&mut buf[len..], len as u64).ok()?;
        if read == 0 {
            return Some(&buf[..len]);
        }
        len += read;
        if len == buf.len() {
            return None;
        }
    }
}

/// `schedstat` is "ran_ns waited_ns arrivals"; `stat`'s state is the first field after the
/// command name, which is in parentheses and may itself hold spaces and parentheses.
fn parse_counts(schedstat: &str, stat: &str) -> Option<Counts> {
    let mut fields = schedstat.split_ascii_whitespace();
    let mut next = || fields.next()?.parse::<u64>().ok();
    let (ran, waited, arrivals) = (next()?, next()?, next()?);
    let state = stat.rsplit_once(") ")?.1.chars().next()?;
    Some(Counts {
        ran: Duration::from_nanos(ran),
        waited: Duration::from_nanos(waited),
        arrivals,
        runnable: state == 'R',
    })
}

/// " of its own time (and N ms waiting for a CPU)" for a refusal's message, when the
/// deadline left out some waiting; nothing otherwise.
pub(crate) fn waiting_note(waited: Duration) -> String {
    if waited.as_millis() == 0 {
        String::new()
    } else {
        format!(
            " of its own time (and {} ms waiting for a CPU)",
            waited.as_millis()
        )
    }
}

/// The calling thread's id, for [`WorkDeadline::know_thread`].
pub(crate) fn current_thread_id() -> i32 {
    // SAFETY: gettid(2) takes no arguments, touches no memory and cannot fail.
    unsafe { libc::gettid() }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::loader::busy_core::{BusyCore, pin_to};

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn time_waiting_for_a_cpu_is_not_spent() {
        // 5 s of wall time, 4.9 s of it runnable behind serving threads: 100 ms used.
        let standing = judge(1_000 * MS, 5_000 * MS, 4_900 * MS, false);
        assert_eq!(standing.left, 900 * MS);
        assert_eq!(standing.waited, 4_900 * MS);
    }

    #[test]
    fn time_running_or_sleeping_is_spent() {
        let no_wait = Duration::ZERO;
        assert_eq!(judge(1_000 * MS, 400 * MS, no_wait, false).left, 600 * MS);
        assert_eq!(
            judge(1_000 * MS, 1_000 * MS, no_wait, false).left,
            Duration::ZERO
        );
        assert_eq!(
            judge(1_000 * MS, 3_000 * MS, 1_000 * MS, false).left,
            Duration::ZERO
        );
    }

    #[test]
    fn a_spent_budget_with_a_stale_count_is_looked_at_again() {
        assert_eq!(
            judge(1_000 * MS, 3_000 * MS, 1_000 * MS, true).left,
            RECHECK
        );
        // Not spent: the stale count changes nothing.
        assert_eq!(
            judge(1_000 * MS, 400 * MS, Duration::ZERO, true).left,
            600 * MS
        );
    }

    #[test]
    fn the_wall_cap_ends_any_wait() {
        let cap = 1_000 * MS * WALL_CAP;
        assert_eq!(judge(1_000 * MS, cap, cap, false).left, Duration::ZERO);
        assert_eq!(
            judge(1_000 * MS, cap, Duration::ZERO, true).left,
            Duration::ZERO
        );
        assert_eq!(
            judge(1_000 * MS, cap - 10 * MS, cap - 10 * MS, false).left,
            10 * MS
        );
    }

    #[test]
    fn a_count_larger_than_the_wall_time_is_clamped() {
        // The counts come from another clock; a wait read as longer than the wall time
        // leaves the whole budget, never more.
        let standing = judge(1_000 * MS, 10 * MS, 50 * MS, false);
        assert_eq!(standing.left, 1_000 * MS);
        assert_eq!(standing.waited, 10 * MS);
    }

    #[test]
    fn proc_files_are_read_and_garbage_is_not() {
        let stat = "4242 (init a) b) R 1 4242";
        assert_eq!(
            parse_counts("95426923 28462359 290\n", stat),
            Some(Counts {
                ran: Duration::from_nanos(95_426_923),
                waited: Duration::from_nanos(28_462_359),
                arrivals: 290,
                runnable: true,
            })
        );
        let sleeping = parse_counts("1 2 3", "7 (x) S 1").expect("counts");
        assert!(!sleeping.runnable);
        assert_eq!(parse_counts("95426923 28462359", stat), None);
        assert_eq!(parse_counts("1 minus 3", stat), None);
        assert_eq!(parse_counts("", stat), None);
        assert_eq!(parse_counts("1 2 3", "no state here"), None);
    }

    #[test]
    fn count_files_opened_once_give_fresh_counts_at_each_read() {
        let files = CountFiles::open(Path::new("/proc/thread-self")).expect("count files");
        let first = files.read().expect("counts");
        assert!(first.runnable, "the reading thread is running: {first:?}");
        // This thread runs until the kernel has counted more of its time (at its next tick
        // at the latest); a read that returned the text of the first would never see it.
        let later = (0..1_000_000)
            .map(|_| files.read().expect("counts"))
            .find(|counts| counts.ran > first.ran);
        assert!(later.is_some(), "the counts never moved from {first:?}");
    }

    #[test]
    fn unreadable_counts_leave_a_wall_clock_deadline() {
        let mut deadline = WorkDeadline::for_new_thread(1_000 * MS);
        deadline.know_thread(0);
        let standing = deadline.standing();
        assert_eq!(standing.waited, Duration::ZERO);
        assert!(standing.left <= 1_000 * MS);
    }

    #[test]
    fn a_thread_that_has_not_run_has_spent_nothing() {
        let mut deadline = WorkDeadline::for_new_thread(1_000 * MS);
        std::thread::sleep(2 * MS);
        assert_eq!(deadline.standing().left, 1_000 * MS);
    }

    #[test]
    fn a_background_thread_kept_off_its_core_is_not_charged_for_the_wait() {
        // A busy thread at normal priority and a SCHED_IDLE thread (as the deployer's) on
        // one core: the idle one waits behind the busy one, and the kernel counts that wait.
        let busy = BusyCore::here();
        let core = busy.core;
        let mut deadline = WorkDeadline::for_new_thread(Duration::from_secs(60));
        let (id_sender, id) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let background = std::thread::spawn(move || {
            // Idle first (as the deployer makes itself), then onto the busy core: an idle
            // thread arriving there never preempts the busy one, so it is queued behind it.
            crate::deploy::priority::lower(0, true);
            // SAFETY: sched_getscheduler(2) takes a pid (0: this thread) and touches no memory.
            let policy = unsafe { libc::sched_getscheduler(0) };
            assert_eq!(
                policy,
                libc::SCHED_IDLE,
                "{}",
                std::io::Error::last_os_error()
            );
            pin_to(core);
            id_sender.send(current_thread_id()).expect("the test waits");
            // Sleeps (alive, so its counts can be read) until the test has looked.
            let _ = released.recv();
        });
        deadline.know_thread(id.recv().expect("the thread reports its id"));
        let standing = deadline.standing();
        release.send(()).expect("the background thread waits");
        background.join().expect("the background thread");
        drop(busy);
        assert!(standing.waited > Duration::ZERO, "{standing:?}");
        assert!(standing.held_back >= standing.waited, "{standing:?}");
    }
}
