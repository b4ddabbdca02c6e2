//! The floor under the figures: W1, W2 and W3 served by bare hyper (`xtask/floors/`: hyper
//! and tokio with the workload compiled in, nothing else on the request path), pinned like
//! the host, in the same run. The static handler compiled into the host carries the host's
//! own per-request work (routing, version choice, guards, headers, metrics), so a ratio
//! against it hides that work; a ratio against bare hyper shows it.
//!
//! Each comparison alternates runs (adapter on the host, then bare hyper, ...) against the
//! W1/W2/W3 host while it is still up, bare hyper idle on the host's core meanwhile. The
//! figure that matters is CPU per request: on two cores wrk saturates its own core first at
//! W1, so requests/s alone cannot tell the two apart.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use serde::Serialize;

use super::{
    Plan, fanout,
    server::Server,
    workloads::{self, Contender, Process, Side, W1, W2, Workload},
    wrk::Wrk,
};
use crate::{cargo, host, http, workspace::Workspace};

/// The floors' sources, each a package of its own (not a workspace member: fat LTO, one
/// codegen unit, `panic = "abort"`, as a bare server would be built).
const BARE_HYPER: &str = "xtask/floors/bare-hyper";
const BARE_FANOUT: &str = "xtask/floors/bare-hyper-fanout";
const START_TIMEOUT: Duration = Duration::from_secs(30);
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The built floors.
#[derive(Debug, Serialize)]
pub struct Builds {
    pub bare_hyper: PathBuf,
    pub bare_fanout: PathBuf,
}

/// Builds both floors in release into `target/floors`, with their own lock files.
pub fn build(workspace: &Workspace) -> anyhow::Result<Builds> {
    let target_dir = workspace.target_dir.join("floors");
    let build = |source: &str, binary: &str| -> anyhow::Result<PathBuf> {
        let manifest = workspace.root.join(source).join("Cargo.toml");
        let mut command = cargo::cargo_command(&workspace.root, "build");
        command
            .args(["--release", "--locked", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target_dir);
        cargo::artifacts(command, &format!("cargo build of {source}"))?
            .into_iter()
            .filter(|artifact| artifact.target.is_bin() && artifact.target.name == binary)
            .find_map(|artifact| artifact.executable)
            .map(|path| path.into_std_path_buf())
            .with_context(|| format!("cargo build of {source} reported no executable {binary}"))
    };
    Ok(Builds {
        bare_hyper: build(BARE_HYPER, "bare-hyper")?,
        bare_fanout: build(BARE_FANOUT, "bare-hyper-fanout")?,
    })
}

/// The three comparisons.
#[derive(Debug, Serialize)]
pub struct Floors {
    pub what: &'static str,
    pub workers: usize,
    pub w1: Comparison,
    pub w2: Comparison,
    pub w3: Comparison,
}

/// One workload, adapter on the host against bare hyper.
#[derive(Debug, Serialize)]
pub struct Comparison {
    pub id: &'static str,
    pub connections: u32,
    pub order: &'static str,
    pub adapter: Side,
    pub bare_hyper: Side,
    /// Adapter over bare hyper, of the medians.
    pub ratios: workloads::Ratios,
}

/// Measures W1, W2 (against `bare-hyper`) and W3 (against `bare-hyper-fanout`, calling the
/// same backend as the host) on `server`'s core.
pub fn measure(
    builds: &Builds,
    wrk: &Wrk,
    server: &Server,
    plan: &Plan,
    backend_url: &str,
) -> anyhow::Result<Floors> {
    // One tokio worker: the pinned host's runtime sees one core too.
    const WORKERS: usize = 1;
    let bare = Floor::start(&builds.bare_hyper, server.core, WORKERS, None)?;
    let w1 = compare(wrk, server, &bare, plan, &W1, W1.adapter, "/bench/hello")?;
    let w2 = compare(wrk, server, &bare, plan, &W2, W2.adapter, W2_FLOOR_PATH)?;
    bare.stop();
    let bare_fanout = Floor::start(&builds.bare_fanout, server.core, WORKERS, Some(backend_url))?;
    let w3 = compare(
        &wrk.with_connections(fanout::CONNECTIONS),
        server,
        &bare_fanout,
        plan,
        &FANOUT,
        fanout::PATH,
        fanout::PATH,
    )?;
    bare_fanout.stop();
    Ok(Floors {
        what: "hyper and tokio with the workload compiled in and nothing else, pinned to the host's core with one tokio worker, in alternating runs",
        workers: WORKERS,
        w1,
        w2,
        w3,
    })
}

/// W2's query on bare hyper: the same document as the adapter's.
pub const W2_FLOOR_PATH: &str = "/bench/home?profile=123";

/// W3 as a [`Workload`], for the comparison's labels (no static handler exists for it).
const FANOUT: Workload = Workload {
    id: fanout::ID,
    name: fanout::NAME,
    adapter: fanout::PATH,
    baseline: fanout::PATH,
};

fn compare(
    wrk: &Wrk,
    server: &Server,
    floor: &Floor,
    plan: &Plan,
    workload: &Workload,
    adapter_path: &'static str,
    floor_path: &'static str,
) -> anyhow::Result<Comparison> {
    same_answer(server, floor, adapter_path, floor_path)?;
    let adapter_url = server.url(adapter_path);
    let floor_url = floor.url(floor_path);
    let id = workload.id;
    eprintln!("{id} vs bare hyper: warm-up ({} s each)", plan.warmup_secs);
    let adapter_warmup = wrk.run(&adapter_url, plan.warmup_secs)?;
    let floor_warmup = wrk.run(&floor_url, plan.warmup_secs)?;
    let [adapter_runs, floor_runs] = workloads::alternate(
        wrk,
        plan,
        &format!("{id} vs bare hyper"),
        &[
            Contender {
                label: "adapter",
                process: Process::of(server),
                url: adapter_url,
            },
            Contender {
                label: "bare hyper",
                // Pinned where the host is.
                process: Process {
                    pid: floor.pid(),
                    core: server.core,
                },
                url: floor_url,
            },
        ],
    )?;
    let adapter = workloads::side(adapter_path, adapter_warmup, adapter_runs);
    let bare_hyper = workloads::side(floor_path, floor_warmup, floor_runs);
    Ok(Comparison {
        id,
        connections: wrk.connections(),
        order: "alternating: adapter, bare hyper, adapter, bare hyper, ...",
        ratios: workloads::Ratios::of(&adapter.median, &bare_hyper.median),
        adapter,
        bare_hyper,
    })
}

/// Bare hyper must answer what the adapter answers, or the comparison is not of the same work.
fn same_answer(
    server: &Server,
    floor: &Floor,
    adapter_path: &str,
    floor_path: &str,
) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(5);
    let adapter = http::get(server.listen, adapter_path, timeout)
        .with_context(|| format!("GET {adapter_path} on the host failed"))?;
    let bare = http::get(floor.addr, floor_path, timeout)
        .with_context(|| format!("GET {floor_path} on bare hyper failed"))?;
    ensure!(
        adapter.status == 200 && bare.status == 200 && adapter.body == bare.body,
        "the host's GET {adapter_path} ({} `{}`) and bare hyper's GET {floor_path} ({} `{}`) differ",
        adapter.status,
        String::from_utf8_lossy(&adapter.body),
        bare.status,
        String::from_utf8_lossy(&bare.body)
    );
    Ok(())
}

/// How long a started server may take to answer, and how it is asked.
pub struct Startup<'a> {
    /// The server, in the messages.
    pub what: &'a str,
    /// Asked with `GET` until it answers 200.
    pub target: &'a str,
    pub within: Duration,
    pub probe_timeout: Duration,
    pub interval: Duration,
}

/// Waits until the server that `child` runs answers `GET startup.target` on `addr` with
/// 200; fails if it exits first or does not answer within `startup.within`.
pub fn wait_answering(
    child: &mut Child,
    addr: SocketAddr,
    startup: &Startup<'_>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + startup.within;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("{} exited at start: {status}", startup.what);
        }
        if matches!(http::get(addr, startup.target, startup.probe_timeout), Ok(response) if response.status == 200)
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "{} did not answer on {addr} within {} s",
                startup.what,
                startup.within.as_secs()
            );
        }
        thread::sleep(startup.interval);
    }
}

/// A running floor server; dropping it kills it.
struct Floor {
    child: Child,
    addr: SocketAddr,
}

impl Floor {
    /// Starts `binary` on a free port of 127.0.0.1 (pinned with taskset when `core` is
    /// given) and waits until it answers `GET /bench/hello`.
    fn start(
        binary: &Path,
        core: Option<usize>,
        workers: usize,
        backend: Option<&str>,
    ) -> anyhow::Result<Self> {
        let addr = host::free_port()?;
        let mut command = crate::child::pinned(binary, core);
        command
            .env("PORT", addr.port().to_string())
            .env("WORKERS", workers.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(backend) = backend {
            command.env("BACKEND", backend);
        }
        crate::child::terminate_with_parent(&mut command);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut floor = Self { child, addr };
        wait_answering(
            &mut floor.child,
            addr,
            &Startup {
                what: &binary.display().to_string(),
                target: "/bench/hello",
                within: START_TIMEOUT,
                probe_timeout: PROBE_TIMEOUT,
                interval: POLL_INTERVAL,
            },
        )?;
        Ok(floor)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn url(&self, target: &str) -> String {
        format!("http://{}{target}", self.addr)
    }

    fn stop(self) {}
}

impl Drop for Floor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
