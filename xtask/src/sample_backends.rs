//! The sample backend services (`tests/sample-backends`) as a child process, for the demo
//! and the benchmarks: build, start on a base port (pinned to a core if asked), wait until
//! the control API answers, switch faults, stop.
//!
//! **Invariant:** the child never outlives xtask: dropping [`SampleBackends`] kills it.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};

use crate::{
    cargo::{self, Profile},
    http,
    workspace::Workspace,
};

/// The services, in port order after the control port, and the backend names the example
/// adapters call them by.
pub const SERVICES: [&str; 5] = [
    "catalog",
    "profiles",
    "recommendations",
    "bookmarks",
    "playback",
];

const PACKAGE: &str = "frontdoor-sample-backends";
const START_TIMEOUT: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A running `sample-backends`, our child.
pub struct SampleBackends {
    child: Child,
    base_port: u16,
}

/// Builds the `sample-backends` binary in release and returns its path.
pub fn build(workspace: &Workspace) -> anyhow::Result<PathBuf> {
    cargo::build(&workspace.root, &[PACKAGE], Profile::Release)?
        .into_iter()
        .filter(|artifact| artifact.target.is_bin() && artifact.target.name == "sample-backends")
        .find_map(|artifact| artifact.executable)
        .map(|path| path.into_std_path_buf())
        .context("cargo build reported no sample-backends executable")
}

impl SampleBackends {
    /// Starts the services on 127.0.0.1: control on `base_port`, services on the next five.
    /// `quiet` sends their output to /dev/null (benchmarks), else to our terminal.
    pub fn start(binary: &Path, base_port: u16, quiet: bool) -> anyhow::Result<Self> {
        Self::start_pinned(binary, base_port, quiet, None)
    }

    /// [`start`](Self::start), and with `Some(core)` on that CPU only, with `taskset -c`
    /// (benchmarks, to keep the services off the host's core).
    pub fn start_pinned(
        binary: &Path,
        base_port: u16,
        quiet: bool,
        core: Option<usize>,
    ) -> anyhow::Result<Self> {
        let mut command = crate::child::pinned(binary, core);
        command
            .args(["--base-port", &base_port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if quiet {
            command.stderr(Stdio::null());
        }
        crate::child::terminate_with_parent(&mut command);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut backends = Self { child, base_port };
        backends.wait_ready()?;
        Ok(backends)
    }

    /// `http://127.0.0.1:PORT` of `service` (one of [`SERVICES`]).
    pub fn url(&self, service: &str) -> String {
        let offset = SERVICES
            .iter()
            .position(|name| *name == service)
            .map_or(0, |index| index + 1);
        format!("http://127.0.0.1:{}", self.base_port + offset as u16)
    }

    /// Every service as a (backend name, URL) pair for `frontdoor serve --backend`.
    pub fn backend_flags(&self) -> Vec<(String, String)> {
        SERVICES
            .iter()
            .map(|service| ((*service).to_owned(), self.url(service)))
            .collect()
    }

    pub fn control_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.base_port))
    }

    /// Sets the faults of `service` (a JSON object of the control API's `Faults`).
    pub fn set_faults(&self, service: &str, faults_json: &str) -> anyhow::Result<()> {
        let target = format!("/faults/{service}");
        let response = http::request(
            self.control_addr(),
            "PUT",
            &target,
            Some(faults_json),
            REQUEST_TIMEOUT,
        )
        .with_context(|| format!("cannot set faults of {service}"))?;
        ensure!(
            response.status == 200,
            "setting faults of {service} answered {}",
            response.status
        );
        Ok(())
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self
                .child
                .try_wait()
                .context("cannot check on sample-backends")?
            {
                bail!(
                    "sample-backends exited ({status}) before its control API answered; is port {} free?",
                    self.base_port
                );
            }
            if let Ok(response) =
                http::get(self.control_addr(), "/services", Duration::from_secs(1))
                && response.status == 200
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "sample-backends did not answer on {} within {} s",
                    self.control_addr(),
                    START_TIMEOUT.as_secs()
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the services (SIGTERM, then waits).
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id())
            && let Ok(None) = self.child.try_wait()
        {
            // SAFETY: kill(2) takes two integers and touches no memory of ours; `pid` is our
            // child, not yet reaped (try_wait just saw it running), so it was not reused.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let _ = self.child.wait();
    }
}

impl Drop for SampleBackends {
    fn drop(&mut self) {
        self.terminate();
    }
}
