//! Runs the probe child with a deadline: waits on a pidfd, kills the child's whole process
//! group at the deadline or when it is done (nothing it started outlives it), and collects
//! bounded amounts of its stdout and stderr. The deadline leaves out the time the child
//! waited for a CPU (see `work_deadline`): a probe is background work and may wait behind
//! serving threads.
//!
//! A child run [`Priority::Idle`] is `SCHED_IDLE` from before it execs: the kernel preempts
//! it whenever a serving thread wants its core, so its work never holds one up until the
//! next tick. On a core that serving keeps saturated it may then get almost no CPU; once it
//! has been held back for its bound it is killed and reported [`Finished::starved`], for
//! the caller to run it again at its own priority (an unprivileged process cannot leave
//! `SCHED_IDLE`, so the same child cannot be raised).

use std::{
    io::{self, Read},
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
    os::unix::process::CommandExt as _,
    process::{Command, ExitStatus, Stdio},
    sync::mpsc,
    time::Duration,
};

use crate::loader::work_deadline::{RECHECK, WorkDeadline};

/// Keep at most this much of the child's stdout (the protocol is a few hundred bytes).
const STDOUT_LIMIT: usize = 64 * 1024;
/// Keep the first this much of the child's stderr: the first panic message (the cause;
/// an abort after a panic in `extern "C"` prints a second one), the loader's error.
const STDERR_HEAD: usize = 16 * 1024;
/// After the child's group is killed its pipes close at once; this bounds the wait for a
/// descendant that escaped the group (setsid) and still holds them.
const PIPE_GRACE: Duration = Duration::from_secs(1);

/// Where the child runs in the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Priority {
    /// The calling thread's policy and nice value, which the child inherits.
    Inherited,
    /// `SCHED_IDLE`, killed once held back from a CPU for this long.
    Idle { held_back_limit: Duration },
}

/// How the child ended.
pub(super) struct Finished {
    pub(super) status: ExitStatus,
    /// True when the deadline passed and the child was killed.
    pub(super) timed_out: bool,
    /// True when the child ran idle, was held back from a CPU for its limit, and was
    /// killed: it says nothing about the artifact.
    pub(super) starved: bool,
    /// How long the child waited for a CPU, which its deadline did not count.
    pub(super) waited_for_cpu: Duration,
    pub(super) stdout: Vec<u8>,
    pub(super) stderr_head: Vec<u8>,
}

/// Runs `command` in a process group of its own, at `priority`, until it exits, `timeout`
/// passes, or (idle) it has been held back for its limit.
pub(super) fn run(
    mut command: Command,
    timeout: Duration,
    priority: Priority,
) -> io::Result<Finished> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Priority::Idle { .. } = priority {
        // SAFETY: the closure runs in the forked child before exec, where only
        // async-signal-safe calls are allowed: it makes one system call
        // (sched_setscheduler(2), on the child itself: pid 0) with a `sched_param` on its own
        // stack, and allocates nothing.
        unsafe {
            command.pre_exec(|| {
                let param = libc::sched_param { sched_priority: 0 };
                // A failure (a sandbox that forbids it) costs only the priority: the child
                // runs as its parent would, and the artifact is judged all the same.
                let _ = libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
                Ok(())
            });
        }
    }
    let mut child = command.spawn()?;
    let mut deadline = WorkDeadline::for_process(child.id(), timeout);
    let stdout = drain(child.stdout.take(), |kept, chunk| {
        let room = STDOUT_LIMIT.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
    });
    let stderr = drain(child.stderr.take(), |kept, chunk| {
        let room = STDERR_HEAD.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
    });
    let ending = wait_for_exit(child.id(), &mut deadline, priority);
    let waited_for_cpu = deadline.standing().waited;
    // The child is not reaped yet (at most a zombie), so its pid, which is its process
    // group's id, cannot have been reused: the signal reaches only its group.
    kill_group(child.id());
    let status = child.wait()?;
    let ending = ending?;
    let stdout = stdout.recv_timeout(PIPE_GRACE).unwrap_or_default();
    let stderr_head = stderr.recv_timeout(PIPE_GRACE).unwrap_or_default();
    Ok(Finished {
        status,
        timed_out: ending == Ending::DeadlineSpent,
        starved: ending == Ending::HeldBack,
        waited_for_cpu,
        stdout,
        stderr_head,
    })
}

/// Why the wait for the child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Exited,
    DeadlineSpent,
    /// An idle child was held back from a CPU for its limit.
    HeldBack,
}

/// Reads `pipe` to its end on a thread of its own, keeping what `keep` keeps; the result
/// arrives on the returned channel.
fn drain(
    pipe: Option<impl Read + Send + 'static>,
    keep: impl Fn(&mut Vec<u8>, &[u8]) + Send + 'static,
) -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    let Some(mut pipe) = pipe else {
        let _ = sender.send(Vec::new());
        return receiver;
    };
    let spawned = std::thread::Builder::new()
        .name("frontdoor-probe-io".into())
        .spawn(move || {
            let mut kept = Vec::new();
            let mut chunk = [0u8; 8192];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(read) => keep(&mut kept, &chunk[..read]),
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            let _ = sender.send(kept);
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot start a thread to read the probe's output");
    }
    receiver
}

/// Waits until the process `pid` (our child) exits, `deadline` is spent, or (idle) it has
/// been held back for its limit.
fn wait_for_exit(pid: u32, deadline: &mut WorkDeadline, priority: Priority) -> io::Result<Ending> {
    let pidfd = pidfd_open(pid)?;
    loop {
        let standing = deadline.standing();
        if standing.left.is_zero() {
            return Ok(Ending::DeadlineSpent);
        }
        let left = match priority {
            Priority::Inherited => standing.left,
            Priority::Idle { held_back_limit } if standing.held_back >= held_back_limit => {
                return Ok(Ending::HeldBack);
            }
            // An idle child's wait shows only in the looks: look every RECHECK.
            Priority::Idle { .. } => standing.left.min(RECHECK),
        };
        // Rounded up, so the wait never ends before the deadline; on waking, the deadline
        // is read again (time the child waited for a CPU moved it).
        let millis = i32::try_from(left.as_millis() + 1).unwrap_or(i32::MAX);
        let mut poll = libc::pollfd {
            fd: pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `poll` points to one valid, initialised pollfd for the duration of the
        // call, and the count passed is 1.
        let ready = unsafe { libc::poll(&raw mut poll, 1, millis) };
        if ready > 0 {
            return Ok(Ending::Exited);
        }
        if ready < 0 {
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
    }
}

/// A pidfd for our child `pid`: readable once the process exits.
fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
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
fn kill_group(pid: u32) {
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
