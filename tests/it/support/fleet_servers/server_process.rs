//! One server binary (etcd, weed) as a child process: its output appended to a log file,
//! started again with the same arguments after a stop, killed with SIGKILL (with anything
//! it started) on stop and on drop; and the bounded wait for a server to become ready.

use std::{
    ffi::OsString,
    fs::{File, OpenOptions},
    future::Future,
    io::Write as _,
    os::unix::process::CommandExt as _,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// How many times readiness is checked before a start counts as failed: with [`INTERVAL`]
/// at least a minute, far more than a start takes on a loaded two-core machine.
const ATTEMPTS: u32 = 1_200;
/// Pause between two readiness checks.
const INTERVAL: Duration = Duration::from_millis(50);
/// How much of a log a failure message shows.
const LOG_TAIL_LINES: usize = 40;

pub(super) struct ServerProcess {
    name: String,
    program: &'static str,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    log_path: PathBuf,
    child: Option<Child>,
}

impl ServerProcess {
    /// A server not started yet; `log_path` collects its stdout and stderr.
    pub(super) fn new(
        name: impl Into<String>,
        program: &'static str,
        args: Vec<OsString>,
        log_path: PathBuf,
    ) -> Self {
        Self {
            name: name.into(),
            program,
            args,
            envs: Vec::new(),
            log_path,
            child: None,
        }
    }

    /// Sets environment variable `name` for every start.
    pub(super) fn env(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((name.into(), value.into()));
        self
    }

    /// Starts the server (again, with the same arguments); returns at once.
    pub(super) fn spawn(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .unwrap_or_else(|error| panic!("open {}: {error}", self.log_path.display()));
        writeln!(log, "=== fleet test harness: starting {}", self.name).expect("write the log");
        let stderr = log.try_clone().expect("clone the log file");
        let mut command = Command::new(self.program);
        command
            .args(&self.args)
            .envs(self.envs.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            // Its own process group: a stop kills whatever the server started too (a
            // wrapper script such as pyenv's shim would otherwise survive as an orphan).
            .process_group(0);
        // SAFETY: the closure runs in the forked child before exec and only makes the
        // prctl(2) system call, which is async-signal-safe and touches no memory of the
        // parent; it asks the kernel to SIGKILL the server when the thread that started it
        // dies, so not even a killed test binary leaves a server behind.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().unwrap_or_else(|error| {
            panic!(
                "start {} ({error}); the fleet tests need etcd, etcdctl and SeaweedFS's weed \
                 on PATH (.ci/run installs them)",
                self.program
            )
        });
        self.child = Some(child);
    }

    /// Whether the server was started and not stopped since (it may have exited).
    pub(super) fn is_started(&self) -> bool {
        self.child.is_some()
    }

    /// `Some(description)` when the started server has exited by itself.
    pub(super) fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(format!("{} exited ({status})", self.name)),
            Ok(None) => None,
            Err(error) => Some(format!("{} cannot be waited for: {error}", self.name)),
        }
    }

    /// SIGKILL to the server's process group, then reaps the server; a no-op when stopped.
    pub(super) fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = child.id() as libc::pid_t;
        // SAFETY: kill(2) on the process group this harness created for the child (its pid
        // is the group's id); the child is not reaped yet, so the id cannot have been reused.
        unsafe { libc::kill(-group, libc::SIGKILL) };
        let _ = child.wait();
    }

    /// Whether the log says a port was taken (by another process, between the harness
    /// picking it and the server binding it).
    pub(super) fn port_was_taken(&self) -> bool {
        self.log().contains("address already in use")
    }

    /// The last lines of the server's log, headed by the server's name and the log's path.
    pub(super) fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
        format!(
            "--- {} ({}), last {} lines:\n{}",
            self.name,
            self.log_path.display(),
            tail.len(),
            tail.join("\n")
        )
    }

    /// The whole log so far.
    pub(super) fn log(&self) -> String {
        File::open(&self.log_path)
            .and_then(std::io::read_to_string)
            .unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What one readiness check found.
pub(super) enum Check {
    Ready,
    /// Not ready yet, and what was seen instead.
    NotYet(String),
    /// Will never be ready (a server exited), and why.
    Failed(String),
}

/// Runs `check` until it says ready, at most [`ATTEMPTS`] times; `Err` says what was last
/// seen, for a failure message naming `what`.
pub(super) async fn wait_ready<F>(what: &str, mut check: impl FnMut() -> F) -> Result<(), String>
where
    F: Future<Output = Check>,
{
    let mut last = String::from("nothing checked");
    for _ in 0..ATTEMPTS {
        match check().await {
            Check::Ready => return Ok(()),
            Check::Failed(why) => return Err(format!("{what} failed: {why}")),
            Check::NotYet(seen) => last = seen,
        }
        tokio::time::sleep(INTERVAL).await;
    }
    Err(format!(
        "{what} did not happen in {ATTEMPTS} checks {} ms apart; last seen: {last}",
        INTERVAL.as_millis()
    ))
}

/// GETs `url` (bounded in time); the status and body, or why there was none.
pub(super) async fn http_get(url: &str) -> Result<(u16, bytes::Bytes), String> {
    http_request(hyper::Method::GET, url, Vec::new()).await
}

/// One plain HTTP request, bounded in time (a server that accepts and never answers must
/// not hang a readiness check).
pub(super) async fn http_request(
    method: hyper::Method,
    url: &str,
    body: Vec<u8>,
) -> Result<(u16, bytes::Bytes), String> {
    const REQUEST_PATIENCE: Duration = Duration::from_secs(10);
    let client = crate::support::client();
    let request = crate::support::try_send(&client, method, url, &[], body);
    match tokio::time::timeout(REQUEST_PATIENCE, request).await {
        Ok(Ok(reply)) => Ok((reply.status, reply.body)),
        Ok(Err(error)) => Err(format!("{url}: {error}")),
        Err(_) => Err(format!(
            "{url}: no answer within {} s",
            REQUEST_PATIENCE.as_secs()
        )),
    }
}
