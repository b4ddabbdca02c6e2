//! The probe child's stdout and stderr, read by the thread that waits for the child, in the
//! same `poll` as the child's pidfd: a probe costs no reader threads (two thread starts and
//! stacks per reload, on the serving core, before this).
//!
//! Each pipe is non-blocking and read whenever it is ready, so the child never blocks on a
//! full pipe; bytes past a pipe's limit are read and dropped.

use std::{
    fs::File,
    io::{self, Read as _},
    os::fd::{AsRawFd, OwnedFd},
    time::{Duration, Instant},
};

/// Both pipes of a child, with what has been kept of each.
pub(super) struct Output {
    pipes: [Pipe; 2],
}

/// One pipe: open until its end is read.
struct Pipe {
    file: Option<File>,
    kept: Vec<u8>,
    limit: usize,
}

impl Output {
    /// Reads `stdout` (keeping its first `stdout_limit` bytes) and `stderr` (its first
    /// `stderr_limit`); a missing pipe reads as empty.
    pub(super) fn new(
        stdout: Option<OwnedFd>,
        stdout_limit: usize,
        stderr: Option<OwnedFd>,
        stderr_limit: usize,
    ) -> io::Result<Self> {
        Ok(Self {
            pipes: [
                Pipe::new(stdout, stdout_limit)?,
                Pipe::new(stderr, stderr_limit)?,
            ],
        })
    }

    /// Waits until `pidfd` is readable (the child exited: true) or `until` passes (false),
    /// reading the pipes as they fill meanwhile. Looks once even when `until` has passed.
    pub(super) fn wait_for_exit(&mut self, pidfd: &OwnedFd, until: Instant) -> io::Result<bool> {
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if self.poll(Some(pidfd), left)? {
                return Ok(true);
            }
            if left.is_zero() || Instant::now() >= until {
                return Ok(false);
            }
        }
    }

    /// Reads both pipes to their ends (the child's group was killed, so they close at once)
    /// for at most `grace`, which bounds the wait for a descendant that escaped the group
    /// and still holds them. Returns what was kept of stdout and stderr.
    pub(super) fn finish(mut self, grace: Duration) -> io::Result<(Vec<u8>, Vec<u8>)> {
        let until = Instant::now() + grace;
        while self.pipes.iter().any(|pipe| pipe.file.is_some()) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            self.poll(None, left)?;
        }
        let [stdout, stderr] = self.pipes;
        Ok((stdout.kept, stderr.kept))
    }

    /// One `poll` of `pidfd` (if given) and the open pipes for at most `wait` (rounded up to
    /// whole milliseconds, so a wait never ends early); reads the pipes that are ready.
    /// True when `pidfd` is readable.
    fn poll(&mut self, pidfd: Option<&OwnedFd>, wait: Duration) -> io::Result<bool> {
        let entry = |fd: i32| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // A negative descriptor is skipped by poll(2): a closed pipe keeps its slot.
        let mut fds = [
            entry(pidfd.map_or(-1, AsRawFd::as_raw_fd)),
            entry(self.pipes[0].raw_fd()),
            entry(self.pipes[1].raw_fd()),
        ];
        let millis = if wait.is_zero() {
            0
        } else {
            i32::try_from(wait.as_millis() + 1).unwrap_or(i32::MAX)
        };
        // SAFETY: `fds` is an array of three initialised pollfds that lives across the call,
        // and the count passed is its length.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) };
        if ready < 0 {
            let error = io::Error::last_os_error();
            // A signal ended the wait early: as "nothing yet", the caller looks again.
            return if error.kind() == io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(error)
            };
        }
        for (pipe, polled) in self.pipes.iter_mut().zip(&fds[1..]) {
            if polled.revents != 0 {
                pipe.read_available();
            }
        }
        Ok(fds[0].revents != 0)
    }
}

impl Pipe {
    fn new(fd: Option<OwnedFd>, limit: usize) -> io::Result<Self> {
        if let Some(fd) = &fd {
            set_nonblocking(fd)?;
        }
        Ok(Self {
            file: fd.map(File::from),
            kept: Vec::new(),
            limit,
        })
    }

    fn raw_fd(&self) -> i32 {
        self.file.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    /// Reads what the pipe holds now; at its end, or on an error, it is closed.
    fn read_available(&mut self) {
        let Some(file) = &mut self.file else {
            return;
        };
        let mut chunk = [0u8; 8192];
        loop {
            match file.read(&mut chunk) {
                Ok(0) => break,
                Ok(read) => {
                    let room = self.limit.saturating_sub(self.kept.len());
                    self.kept.extend_from_slice(&chunk[..read.min(room)]);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => break,
            }
        }
        self.file = None;
    }
}

/// Sets `O_NONBLOCK` on `fd`, so a read of an empty pipe returns at once.
fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl(2) with F_GETFL/F_SETFL takes a descriptor and an integer and touches
    // no memory; `fd` is open for the duration of both calls.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};

    use super::*;

    fn child(script: &str) -> std::process::Child {
        Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sh starts")
    }

    fn pidfd(child: &std::process::Child) -> OwnedFd {
        super::super::process::pidfd_open(child.id()).expect("pidfd")
    }

    #[test]
    fn both_pipes_are_kept_up_to_their_limits_while_the_child_runs_and_after() {
        // More than a pipe holds (64 KiB) on each: the child ends only if the waiting thread
        // reads while it runs.
        let mut child = child("head -c 200000 /dev/zero; head -c 150000 /dev/zero >&2; echo done");
        let pidfd = pidfd(&child);
        let mut output = Output::new(
            child.stdout.take().map(OwnedFd::from),
            1000,
            child.stderr.take().map(OwnedFd::from),
            10,
        )
        .expect("pipes");
        let far = Instant::now() + Duration::from_secs(600);
        assert!(output.wait_for_exit(&pidfd, far).expect("poll"));
        assert!(child.wait().expect("reaped").success());
        let (stdout, stderr) = output.finish(Duration::from_secs(600)).expect("read");
        assert_eq!(stdout, vec![0u8; 1000]);
        assert_eq!(stderr, vec![0u8; 10]);
    }

    #[test]
    fn a_wait_that_has_passed_looks_once_and_reports_a_running_child() {
        let mut child = child("exec sleep 600");
        let pidfd = pidfd(&child);
        let mut output =
            Output::new(child.stdout.take().map(OwnedFd::from), 10, None, 10).expect("pipes");
        assert!(!output.wait_for_exit(&pidfd, Instant::now()).expect("poll"));
        child.kill().expect("kill");
        let far = Instant::now() + Duration::from_secs(600);
        assert!(output.wait_for_exit(&pidfd, far).expect("poll"));
        child.wait().expect("reaped");
        let (stdout, stderr) = output.finish(Duration::from_secs(600)).expect("read");
        assert!(stdout.is_empty() && stderr.is_empty());
    }
}
