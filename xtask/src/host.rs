//! A `frontdoor serve` child process, as the demo and the benchmarks run it: build it, start
//! it, wait until it is healthy, stop it.
//!
//! **Invariant:** the child never outlives an error of xtask: dropping a [`Host`] that still
//! runs kills it.

use std::{
    fs::File,
    io,
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

use crate::{
    cargo::{self, Profile},
    http, system_tools,
    workspace::Workspace,
};

/// What `frontdoor serve` is started with. The static benchmark baseline
/// (`--builtin-bench`) is always on.
#[derive(Debug)]
pub struct ServeConfig<'a> {
    /// The directory the host runs in.
    pub workdir: &'a Path,
    pub plugins_dir: &'a Path,
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    /// Where the host makes its private copies directory [default: the host's].
    pub copies_dir: Option<&'a Path>,
    /// Keep the copy of every mapped library until shutdown, so perf resolves plugin
    /// symbols (`--keep-copies`).
    pub keep_copies: bool,
    /// Retired versions kept mapped before the host warns [default: the host's].
    pub retired_limit: Option<usize>,
    /// Run the host on this CPU only, with `taskset -c`.
    pub pin_core: Option<usize>,
    /// Backends as (name, base URL), passed as `--backend name=url`.
    pub backends: &'a [(String, String)],
    /// A `frontdoor.toml` to serve with (`--config`), for what has no flag (admin tokens).
    pub config_file: Option<&'a Path>,
    pub output: Output<'a>,
}

/// Where the host's stdout and stderr go.
#[derive(Debug, Clone, Copy)]
pub enum Output<'a> {
    /// Our terminal, with the `RUST_LOG` of our environment.
    Inherit,
    /// Appended to the file `path`, with `RUST_LOG=rust_log`.
    Log { path: &'a Path, rust_log: &'a str },
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

/// Builds the `frontdoor` binary as it ships (the `production` profile: fat LTO, one
/// codegen unit) and returns its path: what the demo runs and the benchmarks measure.
pub fn build(workspace: &Workspace) -> anyhow::Result<PathBuf> {
    build_with(workspace, Profile::Production)
}

/// Builds the `frontdoor` binary with `profile` and returns its path.
pub fn build_with(workspace: &Workspace, profile: Profile) -> anyhow::Result<PathBuf> {
    system_tools::ensure_protoc()?;
    cargo::build(&workspace.root, &["frontdoor"], profile)?
        .into_iter()
        .filter(|artifact| artifact.target.is_bin() && artifact.target.name == "frontdoor")
        .find_map(|artifact| artifact.executable)
        .map(|path| path.into_std_path_buf())
        .context("cargo build reported no frontdoor executable")
}

/// A port on 127.0.0.1 that was free a moment ago, for a host to listen on.
pub fn free_port() -> anyhow::Result<SocketAddr> {
    TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .and_then(|listener| listener.local_addr())
        .context("cannot find a free port on 127.0.0.1")
}

impl Host {
    /// Starts `frontdoor serve` as configured. With [`Output::Inherit`] the child is in our
    /// process group and gets Ctrl-C from the terminal as we do.
    pub fn spawn(frontdoor: &Path, config: &ServeConfig<'_>) -> anyhow::Result<Self> {
        let mut command = crate::child::pinned(frontdoor, config.pin_core);
        command
            .current_dir(config.workdir)
            .arg("serve")
            .arg("--plugins-dir")
            .arg(config.plugins_dir)
            .args(["--listen", &config.listen.to_string()])
            .args(["--admin-listen", &config.admin_listen.to_string()])
            .arg("--builtin-bench")
            .stdin(Stdio::null());
        if let Some(file) = config.config_file {
            command.arg("--config").arg(file);
        }
        if let Some(dir) = config.copies_dir {
            command.arg("--copies-dir").arg(dir);
        }
        if config.keep_copies {
            command.arg("--keep-copies");
        }
        if let Some(limit) = config.retired_limit {
            command.args(["--retired-limit", &limit.to_string()]);
        }
        for (name, url) in config.backends {
            command.arg("--backend").arg(format!("{name}={url}"));
        }
        if let Output::Log { path, rust_log } = config.output {
            let log = File::options()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the host log {}", path.display()))?;
            let stderr = log
                .try_clone()
                .with_context(|| format!("cannot reopen the host log {}", path.display()))?;
            command.env("RUST_LOG", rust_log).stdout(log).stderr(stderr);
        }
        crate::child::terminate_with_parent(&mut command);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", frontdoor.display()))?;
        Ok(Self { child })
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Polls `GET /admin/health` until it answers 200; kills the host after `timeout`.
    pub fn wait_healthy(&mut self, admin: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
        self.wait_healthy_as(admin, None, timeout)
    }

    /// [`Self::wait_healthy`] on a host whose admin API wants `bearer` (a token).
    pub fn wait_healthy_as(
        &mut self,
        admin: SocketAddr,
        bearer: Option<&str>,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let authorization = bearer.map(|token| format!("Bearer {token}"));
        let headers: Vec<(&str, &str)> = authorization
            .iter()
            .map(|value| ("authorization", value.as_str()))
            .collect();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().context("cannot check on frontdoor")? {
                bail!("frontdoor exited ({status}) before it answered http://{admin}/admin/health");
            }
            let last = match http::request_with(
                admin,
                "GET",
                "/admin/health",
                &headers,
                None,
                PROBE_TIMEOUT,
            ) {
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
        if let Some(status) = self.child.try_wait().context("cannot check on frontdoor")? {
            return Ok(status);
        }
        let pid =
            libc::pid_t::try_from(self.child.id()).context("frontdoor's pid does not fit pid_t")?;
        // SAFETY: kill(2) takes two integers and touches no memory of ours. `pid` is our
        // child and `try_wait` just saw it running, so it has not been reaped and cannot
        // have been reused by another process.
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
