//! Finding the host the dev loop installs into: one named by flags, one the demo or an
//! earlier dev loop started (recorded in `target/frontdoor-dev-host.json`), or a new one
//! with the sample backends, as `cargo xtask demo` starts it.
//!
//! The state file is only a hint: it is trusted when its process is alive and its admin API
//! answers `/admin/health`.

use std::{
    fs,
    io::Write as _,
    net::SocketAddr,
    os::unix::fs::OpenOptionsExt as _,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use crate::{
    build_plugin, host, http,
    sample_backends::{self, SampleBackends},
    workspace::Workspace,
};

/// A running host as the dev loop needs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevHost {
    /// The host's process id (0 when given by flags).
    pub pid: u32,
    /// Where devices connect.
    pub listen: SocketAddr,
    pub admin: SocketAddr,
    /// The directory it watches.
    pub plugins_dir: PathBuf,
    /// A `read` token for its admin API, when it has tokens: the demo's own, or
    /// `FRONTDOOR_TOKEN` for a host given by flags (as `frontdoor ctl` reads it). The state
    /// file is under `target/` and written owner-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl DevHost {
    /// `GET path` on the admin API, with the token when there is one.
    pub fn admin_get(&self, path: &str, timeout: Duration) -> anyhow::Result<http::Response> {
        let authorization = self.token.as_ref().map(|token| format!("Bearer {token}"));
        let headers: Vec<(&str, &str)> = authorization
            .iter()
            .map(|value| ("authorization", value.as_str()))
            .collect();
        http::get_with_headers(self.admin, path, &headers, timeout)
    }
}

/// A host this process started, with its backends; both stop when it is dropped.
pub struct OwnedHost {
    _host: host::Host,
    _backends: SampleBackends,
    state_file: PathBuf,
}

impl Drop for OwnedHost {
    fn drop(&mut self) {
        // Best effort: a stale file is ignored anyway (its pid is gone).
        let _ = fs::remove_file(&self.state_file);
    }
}

const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The state file of `workspace`.
pub fn state_file(workspace: &Workspace) -> PathBuf {
    workspace.target_dir.join("frontdoor-dev-host.json")
}

/// Records `host` as the one to install into.
pub fn record(workspace: &Workspace, host: &DevHost) -> anyhow::Result<()> {
    let path = state_file(workspace);
    fs::create_dir_all(&workspace.target_dir)
        .with_context(|| format!("cannot create {}", workspace.target_dir.display()))?;
    let text = serde_json::to_string_pretty(host).context("cannot encode the dev host")?;
    // Written under another name and renamed: a reader never sees half a file.
    let temp = path.with_extension(format!("json.{}", std::process::id()));
    // Owner-only: it may hold the demo's admin token.
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .and_then(|()| fs::rename(&temp, &path))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Removes the state file if it still names process `pid`.
pub fn forget(workspace: &Workspace, pid: u32) {
    if recorded(workspace).is_some_and(|host| host.pid == pid) {
        let _ = fs::remove_file(state_file(workspace));
    }
}

/// The recorded host, if its process is alive and it answers.
pub fn recorded(workspace: &Workspace) -> Option<DevHost> {
    let text = fs::read_to_string(state_file(workspace)).ok()?;
    let host: DevHost = serde_json::from_str(&text).ok()?;
    (alive(host.pid) && healthy(&host)).then_some(host)
}

/// The host given by flags; it must answer.
pub fn given(admin: SocketAddr, listen: SocketAddr, plugins_dir: &Path) -> anyhow::Result<DevHost> {
    let plugins_dir = std::path::absolute(plugins_dir)
        .with_context(|| format!("invalid plugins directory {}", plugins_dir.display()))?;
    if !plugins_dir.is_dir() {
        bail!("{} is not a directory", plugins_dir.display());
    }
    let host = DevHost {
        pid: 0,
        listen,
        admin,
        plugins_dir,
        token: std::env::var("FRONTDOOR_TOKEN").ok(),
    };
    if !healthy(&host) {
        bail!(
            "no Frontdoor admin API answers /admin/health on {admin} (with FRONTDOOR_TOKEN when it has tokens)"
        );
    }
    Ok(host)
}

/// Starts a host over `plugins_dir` (default `<workspace>/plugins.d`) with the sample
/// backends, on free ports, logging to `target/frontdoor-dev-host.log`.
pub fn start(
    workspace: &Workspace,
    plugins_dir: Option<&Path>,
) -> anyhow::Result<(DevHost, OwnedHost)> {
    let plugins_dir = match plugins_dir {
        Some(dir) => std::path::absolute(dir)
            .with_context(|| format!("invalid plugins directory {}", dir.display()))?,
        None => build_plugin::default_out_dir(workspace),
    };
    fs::create_dir_all(&plugins_dir)
        .with_context(|| format!("cannot create {}", plugins_dir.display()))?;
    // Release, not production: an author's loop rebuilds the host after a pull, and fat
    // LTO would add minutes to it for a few percent of speed a dev host does not need.
    let frontdoor = host::build_with(workspace, crate::cargo::Profile::Release)?;
    let backends_binary = sample_backends::build(workspace)?;
    let backends = start_backends(&backends_binary)?;
    let listen = host::free_port()?;
    let admin = host::free_port()?;
    let log = workspace.target_dir.join("frontdoor-dev-host.log");
    let backend_flags = backends.backend_flags();
    let mut running = host::Host::spawn(
        &frontdoor,
        &host::ServeConfig {
            workdir: &workspace.root,
            plugins_dir: &plugins_dir,
            listen,
            admin_listen: admin,
            copies_dir: None,
            keep_copies: false,
            retired_limit: None,
            pin_core: None,
            backends: &backend_flags,
            config_file: None,
            output: host::Output::Log {
                path: &log,
                rust_log: "info",
            },
        },
    )?;
    running.wait_healthy(admin, HEALTH_TIMEOUT)?;
    let dev_host = DevHost {
        pid: running.id(),
        listen,
        admin,
        plugins_dir,
        token: None,
    };
    record(workspace, &dev_host)?;
    println!(
        "started frontdoor (pid {}): devices http://{listen}, admin http://{admin}, log {}",
        dev_host.pid,
        build_plugin::relative_to_cwd(&log).display()
    );
    Ok((
        dev_host,
        OwnedHost {
            _host: running,
            _backends: backends,
            state_file: state_file(workspace),
        },
    ))
}

/// The sample backends on the demo's ports if free, else on another block of six.
fn start_backends(binary: &Path) -> anyhow::Result<SampleBackends> {
    let services = sample_backends::SERVICES.len() as u16;
    for base in [9000, 19_100, 29_100, 39_100, 49_100] {
        let free = (0..=services).all(|offset| {
            std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], base + offset))).is_ok()
        });
        if free {
            return SampleBackends::start(binary, base, true);
        }
    }
    bail!("found no six free ports for the sample backends")
}

fn healthy(host: &DevHost) -> bool {
    host.admin_get("/admin/health", PROBE_TIMEOUT)
        .is_ok_and(|response| response.status == 200)
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) with signal 0 sends nothing and touches no memory; it only reports
    // whether a process with this id exists and may be signalled.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0
}
