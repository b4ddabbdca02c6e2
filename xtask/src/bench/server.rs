//! A host instance started for benchmarking: release build, pinned, on free ports of
//! 127.0.0.1, logging at `warn` into `target/bench/host.log` so logging does not distort it.

use std::{
    fs::{self, File},
    io::Write as _,
    net::SocketAddr,
    path::Path,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

use crate::{
    host::{self, Host, Output, ServeConfig},
    http::{self, Connection},
};

/// What every benchmark host shares.
#[derive(Debug)]
pub struct Launcher<'a> {
    pub frontdoor: &'a Path,
    pub workdir: &'a Path,
    pub log: &'a Path,
    pub core: Option<usize>,
}

/// What differs between two benchmark hosts.
#[derive(Debug)]
pub struct Instance<'a> {
    /// Written to the log before the host starts, to tell the hosts apart.
    pub label: &'a str,
    pub plugins_dir: &'a Path,
    /// Where the host makes its private copies directory.
    pub copies_dir: &'a Path,
    /// Keep the copies of mapped libraries: perf resolves the adapter's symbols through them.
    pub keep_copies: bool,
    pub retired_limit: Option<usize>,
    /// Backends as (name, base URL).
    pub backends: &'a [(String, String)],
}

/// A running benchmark host.
#[derive(Debug)]
pub struct Server {
    host: Host,
    pub listen: SocketAddr,
    pub admin: SocketAddr,
    /// The core it is pinned to.
    pub core: Option<usize>,
}

/// The log level of benchmark hosts.
pub const RUST_LOG: &str = "warn";
/// How long a host gets to become healthy, and an adapter to answer after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

impl Launcher<'_> {
    /// Starts a host; it is healthy when this returns.
    pub fn start(&self, instance: &Instance<'_>) -> anyhow::Result<Server> {
        self.start_with_config(instance, None)
    }

    /// [`start`](Self::start), reading `config_file` too (`--config`).
    pub fn start_with_config(
        &self,
        instance: &Instance<'_>,
        config_file: Option<&Path>,
    ) -> anyhow::Result<Server> {
        self.start_within(instance, config_file, START_TIMEOUT)
    }

    /// [`start_with_config`](Self::start_with_config), giving the host `start_timeout` to
    /// become healthy: it loads its plugins directory first, which takes long when it
    /// holds a thousand adapters.
    pub fn start_within(
        &self,
        instance: &Instance<'_>,
        config_file: Option<&Path>,
        start_timeout: Duration,
    ) -> anyhow::Result<Server> {
        let listen = host::free_port()?;
        let admin = host::free_port()?;
        fs::create_dir_all(instance.copies_dir)
            .with_context(|| format!("cannot create {}", instance.copies_dir.display()))?;
        File::options()
            .create(true)
            .append(true)
            .open(self.log)
            .and_then(|mut log| writeln!(log, "--- xtask bench: {} ---", instance.label))
            .with_context(|| format!("cannot write to {}", self.log.display()))?;
        let mut host = Host::spawn(
            self.frontdoor,
            &ServeConfig {
                workdir: self.workdir,
                plugins_dir: instance.plugins_dir,
                listen,
                admin_listen: admin,
                copies_dir: Some(instance.copies_dir),
                keep_copies: instance.keep_copies,
                retired_limit: instance.retired_limit,
                pin_core: self.core,
                backends: instance.backends,
                config_file,
                output: Output::Log {
                    path: self.log,
                    rust_log: RUST_LOG,
                },
            },
        )?;
        host.wait_healthy(admin, start_timeout)
            .with_context(|| format!("see {}", self.log.display()))?;
        Ok(Server {
            host,
            listen,
            admin,
            core: self.core,
        })
    }
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.host.id()
    }

    pub fn url(&self, target: &str) -> String {
        format!("http://{}{target}", self.listen)
    }

    /// Waits until `GET target` answers 200 with `x-frontdoor-adapter: {adapter}`, i.e.
    /// until the host has loaded that build from the plugins directory.
    pub fn wait_for_adapter(&self, target: &str, adapter: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut connection = Connection::open(self.listen, REQUEST_TIMEOUT)?;
        loop {
            let response = connection.get(target)?;
            let serving = response.header("x-frontdoor-adapter").unwrap_or_default();
            if response.status == 200 && serving == adapter {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "GET {target} still answers {} from `{serving}` instead of {adapter} after {} s",
                    response.status,
                    START_TIMEOUT.as_secs()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// `GET /admin/plugins`, parsed.
    pub fn admin_plugins(&self) -> anyhow::Result<serde_json::Value> {
        self.admin_get("/admin/plugins")
    }

    /// `GET /admin/backends`, parsed.
    pub fn admin_backends(&self) -> anyhow::Result<serde_json::Value> {
        self.admin_get("/admin/backends")
    }

    /// The value of the counter sample `series` (name and labels exactly as exposed, e.g.
    /// `frontdoor_load_probes_total{run="idle"}`) in `GET /metrics`.
    pub fn counter(&self, series: &str) -> anyhow::Result<u64> {
        let response = http::request(self.admin, "GET", "/metrics", None, REQUEST_TIMEOUT)?;
        if response.status != 200 {
            bail!("GET /metrics answered {}", response.status);
        }
        let text = String::from_utf8_lossy(&response.body);
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .with_context(|| format!("GET /metrics has no {series}"))?
            .trim()
            .parse()
            .with_context(|| format!("{series} is not a whole number"))
    }

    /// Stops the host gracefully; a host that does not exit cleanly is reported, not fatal.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let status = self.host.terminate()?;
        if !status.success() {
            eprintln!("xtask: note: the benchmark host exited with {status} after SIGTERM");
        }
        Ok(())
    }

    /// `method target` on the admin listener with an optional JSON body, parsed; any answer
    /// other than 200 or 201 is an error carrying the host's own JSON refusal.
    pub fn admin(
        &self,
        method: &str,
        target: &str,
        json_body: Option<&str>,
    ) -> anyhow::Result<serde_json::Value> {
        let response = http::request(self.admin, method, target, json_body, REQUEST_TIMEOUT)?;
        if !matches!(response.status, 200 | 201) {
            bail!(
                "{method} {target} answered {}: {}",
                response.status,
                String::from_utf8_lossy(&response.body).trim()
            );
        }
        serde_json::from_slice(&response.body)
            .with_context(|| format!("{method} {target} is not JSON"))
    }

    fn admin_get(&self, target: &str) -> anyhow::Result<serde_json::Value> {
        self.admin("GET", target, None)
    }
}
