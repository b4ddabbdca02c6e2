//! Runs the probe child with a deadline: waits on a pidfd, kills the child's whole process
//! group at the deadline or when it is done (nothing it started outlives it), and collects
//! bounded amounts of its stdout and stderr in the same poll (`output`). The deadline
//! leaves out the time the child waited for a CPU (see `work_deadline`): a probe is
//! background work and may wait behind serving threads.
//!
//! A child run with [`run_idle`] is `SCHED_IDLE` from its start (`idle_spawner`): the
//! kernel preempts it whenever a serving thread wants its core, so its work never holds one
//! up until the next tick. On a core that serving keeps saturated it may then get almost no
//! CPU; once it has been held back for its bound it is killed and reported
//! [`Run::HeldBack`], for the caller to run it again at its own priority (an unprivileged
//! process cannot leave `SCHED_IDLE`, so the same child cannot be raised). An idle child is
//! looked at a few times per bound, not every [`RECHECK`]: the looks are the deployer's
//! work too.

use std::{
    io,
    os::fd::{FromRawFd as _, OwnedFd},
    os::unix::process::CommandExt as _,
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use super::{idle_spawner, output::Output};
use crate::loader::work_deadline::{RECHECK, WorkDeadline};

/// Keep at most this much of the child's stdout (the protocol is a few hundred bytes).
const STDOUT_LIMIT: usize = 64 * 1024;
/// Keep the first this much of the child's stderr: the first panic message (the cause;
/// an abort after a panic in `extern "C"` prints a second one), the loader's error.
const STDERR_HEAD: usize = 16 * 1024;
/// After the child's group is killed its pipes close at once; this bounds the wait for a
/// descendant that escaped the group (setsid) and still holds them.
const PIPE_GRACE: Duration = Duration::from_secs(1);

/// How the child ended.
pub(super) struct Finished {
    pub(super) status: ExitStatus,
    /// True when the deadline passed and the child was killed.
    pub(super) timed_out: bool,
    /// How long the child waited for a CPU, which its deadline did not count.
    pub(super) waited_for_cpu: Duration,
    pub(super) stdout: Vec<u8>,
    pub(super) stderr_head: Vec<u8>,
}

/// Runs `command` in a process group of its own, at the calling thread's priority, until
/// it exits or `timeout` passes.
pub(super) fn run(mut command: Command, timeout: Duration) -> io::Result<Finished> {
    let child = prepare(&mut command).spawn()?;
    let (finished, _) = watch(child, timeout, None)?;
    Ok(finished)
}

/// [`run`], `SCHED_IDLE`, and until it has been held back from a CPU for `held_back_limit`
/// (its spawn included) at the latest.
pub(super) fn run_idle(
    mut command: Command,
    timeout: Duration,
    held_back_limit: Duration,
) -> io::Result<Run> {
    prepare(&mut command);
    let asked = Instant::now();
    let Some(child) = idle_spawner::spawn(command, held_back_limit) else {
        return Ok(Run::HeldBack(held_back_limit));
    };
    // The spawner's wait for a CPU counts against the bound too.
    let spawning = asked.elapsed();
    let (finished, held_back) = watch(
        child?,
        timeout,
        Some(held_back_limit.saturating_sub(spawning)),
    )?;
    Ok(match held_back {
        Some(held_back) => Run::HeldBack(spawning + held_back),
        None => Run::Finished(finished),
    })
}

/// Pipes, no stdin, a process group of its own.
fn prepare(command: &mut Command) -> &mut Command {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
}

/// Waits for `child` as [`run`] and [`run_idle`] say; the second value is how long an idle
/// child had been held back when it was killed for it.
fn watch(
    mut child: Child,
    timeout: Duration,
    held_back_limit: Option<Duration>,
) -> io::Result<(Finished, Option<Duration>)> {
    let mut deadline = WorkDeadline::for_process(child.id(), timeout);
    // Whatever goes wrong here, the child is killed and reaped below before it is told.
    let ending = Output::new(
        child.stdout.take().map(OwnedFd::from),
        STDOUT_LIMIT,
        child.stderr.take().map(OwnedFd::from),
        STDERR_HEAD,
    )
    .and_then(|mut output| {
        wait_for_exit(child.id(), &mut deadline, held_back_limit, &mut output)
            .map(|ending| (ending, output))
    });
    // The last counts tell a killed child's wait; a child that exited needs no look.
    let standing = match &ending {
        Ok((Ending::Exited, _)) => None,
        _ => Some(deadline.standing()),
    };
    // The child is not reaped yet (at most a zombie), so its pid, which is its process
    // group's id, cannot have been reused: the signal reaches only its group.
    kill_group(child.id());
    let status = child.wait()?;
    let (ending, output) = ending?;
    let (stdout, stderr_head) = output.finish(PIPE_GRACE)?;
    let finished = Finished {
        status,
        timed_out: ending == Ending::DeadlineSpent,
        waited_for_cpu: standing.map_or(Duration::ZERO, |standing| standing.waited),
        stdout,
        stderr_head,
    };
    Ok((
        finished,
        standing
            .filter(|_| ending == Ending::HeldBack)
            .map(|standing| standing.held_back),
    ))
}

/// How a run of the child ended.
pub(super) enum Run {
    Finished(Finished),
    /// It ran idle and was held back from a CPU (this long, its spawn included) for its
    /// limit; it was killed, or never started. It says nothing about the artifact.
    HeldBack(Duration),
}

/// Why the wait for the child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Exited,
    DeadlineSpent,
    /// An idle child was held back from a CPU for its limit.
    HeldBack,
}

/// Waits until the process `pid` (our child) exits, `deadline` is spent, or (an idle child,
/// with a `held_back_limit`) it has been held back for that long.
fn wait_for_exit(
    pid: u32,
    deadline: &mut WorkDeadline,
    held_back_limit: Option<Duration>,
    output: &mut Output,
) -> io::Result<Ending> {
    let pidfd = pidfd_open(pid)?;
    loop {
        let standing = deadline.standing();
        if standing.left.is_zero() {
            return Ok(Ending::DeadlineSpent);
        }
        let left = match held_back_limit {
            None => standing.left,
            Some(limit) if standing.held_back >= limit => {
                // It may have finished since the last look: then its verdict stands.
                return Ok(if output.wait_for_exit(&pidfd, Instant::now())? {
                    Ending::Exited
                } else {
                    Ending::HeldBack
                });
            }
            // An idle child's wait shows only in the looks.
            Some(limit) => standing.left.min(idle_look_interval(limit)),
        };
        // On waking, the deadline is read again (time the child waited for a CPU moved it).
        if output.wait_for_exit(&pidfd, Instant::now() + left)? {
            return Ok(Ending::Exited);
        }
    }
}

/// How often an idle child is looked at: a few times per bound, at least every
/// [`RECHECK`] and at most every 100 ms.
fn idle_look_interval(held_back_limit: Duration) -> Duration {
    (held_back_limit / 8).clamp(RECHECK, Duration::from_millis(100))
}

/// A pidfd for our child `pid`: readable once the process exits.
pub(super) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(io::Error::other)?;
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new descriptor or -1; no
    // memory is passed. `pid` is our unreaped child, so it names that process.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(fd).map_err(io::Error::other)?;
    // SAFETY: `fd` was just returned by pidfd_open and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// SIGKILL to every process of the group led by our child `pid`.
pub(super) fn kill_group(pid: u32) {
    let Ok(group) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: killpg(2) takes two integers and touches no memory. The group id is our
    // unreaped child's pid (it was spawned as the leader of a new group), which no other
    // process or group can hold until we reap it. ESRCH (nobody left) is fine.
    unsafe {
        libc::killpg(group, libc::SIGKILL);
    }
}
