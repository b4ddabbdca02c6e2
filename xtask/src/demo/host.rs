//! The demo's `frontdoor serve` child process: start it, wait until it is healthy, stop it.
//!
//! **Invariant:** the child never outlives an error of xtask: dropping a [`Host`] that still
//! runs kills it.

use std::{
    io,
    net::SocketAddr,
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

use super::http;

/// What `frontdoor serve` is started with.
#[derive(Debug)]
pub struct ServeConfig<'a> {
    /// The directory the host runs in.
    pub workdir: &'a Path,
    pub plugins_dir: &'a Path,
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
}

/// A running `frontdoor serve`, our child.
#[derive(Debug)]
pub struct Host {
    child: Child,
}

/// Pause between two health probes.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long one health probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

impl Host {
    /// Starts `frontdoor serve` with the static benchmark baseline. From here on, Ctrl-C
    /// belongs to the child (it is in our process group and gets SIGINT from the terminal);
    /// xtask ignores it and follows the child's exit.
    pub fn spawn(frontdoor: &Path, config: &ServeConfig<'_>) -> anyhow::Result<Self> {
        let child = Command::new(frontdoor)
            .current_dir(config.workdir)
            .arg("serve")
            .arg("--plugins-dir")
            .arg(config.plugins_dir)
            .args(["--listen", &config.listen.to_string()])
            .args(["--admin-listen", &config.admin_listen.to_string()])
            .arg("--builtin-bench")
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", frontdoor.display()))?;
        let host = Self { child };
        // Only after the spawn, so the child keeps the default SIGINT disposition.
        ignore_interrupts().context("cannot ignore SIGINT")?;
        Ok(host)
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Polls `GET /admin/health` until it answers 200; kills the host after `timeout`.
    pub fn wait_healthy(&mut self, admin: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().context("cannot check on frontdoor")? {
                bail!("frontdoor exited ({status}) before it answered http://{admin}/admin/health");
            }
            let last = match http::get(admin, "/admin/health", PROBE_TIMEOUT) {
                Ok(response) if response.status == 200 => return Ok(()),
                Ok(response) => format!("status {}", response.status),
                Err(error) => format!("{error:#}"),
            };
            if Instant::now() >= deadline {
                self.kill();
                bail!(
                    "frontdoor did not answer 200 on http://{admin}/admin/health within {} s, so it was stopped (last attempt: {last})",
                    timeout.as_secs()
                );
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Sends SIGTERM (a graceful shutdown) and waits for the host to exit.
    pub fn terminate(&mut self) -> anyhow::Result<ExitStatus> {
        let pid =
            libc::pid_t::try_from(self.child.id()).context("frontdoor's pid does not fit pid_t")?;
        // SAFETY: kill(2) takes two integers and touches no memory of ours. `pid` is our
        // child and has not been waited for (`wait_healthy` saw it running, nothing reaped it
        // since), so it cannot have been reused by another process.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            return Err(io::Error::last_os_error()).context("cannot send SIGTERM to frontdoor");
        }
        self.wait()
    }

    /// Waits for the host to exit on its own (or on Ctrl-C).
    pub fn wait(&mut self) -> anyhow::Result<ExitStatus> {
        self.child.wait().context("cannot wait for frontdoor")
    }

    fn kill(&mut self) {
        // Best effort: it may have exited on its own in the meantime.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

fn ignore_interrupts() -> io::Result<()> {
    // SAFETY: `SIG_IGN` installs no handler, so no code runs in signal context; the call
    // only changes this process's SIGINT disposition, which nothing else in xtask relies on.
    let previous = unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    if previous == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
