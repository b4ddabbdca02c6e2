//! The recycle run: what recycling costs and sheds. A host instance of its own (plugins
//! directory holding only `bench-live.so`, as R1's) serves W2 at full load; its RSS then is
//! the fresh host's. It then takes R1's swaps (no load), which leave every retired version
//! mapped, and its RSS is read again. Then wrk runs W2 at full load while the host recycles
//! itself over and over through `POST /admin/recycle`, each time into a fresh process of
//! the same binary that inherits the listening sockets; the last successor's RSS is read
//! after that load. wrk's socket errors and non-2xx answers must be 0, as must failed
//! recycles: the run's whole point is that devices notice nothing.

use std::{
    fs, thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use serde::Serialize;

use super::{
    Plan,
    artifacts::Artifacts,
    procfs,
    reload::{self, PATH, POLL_PATH, Retired, Stage},
    server::{Instance, Launcher},
    stats,
    wrk::{Load, Wrk},
};
use crate::http::{self, Connection};

/// What the recycle run found.
#[derive(Debug, Serialize)]
pub struct Recycle {
    pub instance: String,
    pub path: &'static str,
    pub swaps: usize,
    pub recycles: usize,
    /// Length of the fresh host's load run and of the run with recycles.
    pub phase_secs: u64,
    pub during_recycles: Load,
    pub failed: Failed,
    /// `POST /admin/recycle` until the successor accepts, per recycle.
    pub recycle_ms: Timing,
    pub rss_kib: Rss,
    /// `retired` from `/admin/plugins` after the swaps and on the last successor.
    pub retired_after_swaps: Retired,
    pub retired_after_recycles: Retired,
    /// The first host and the last successor.
    pub pids: [u32; 2],
}

#[derive(Debug, Serialize)]
pub struct Failed {
    pub wrk_non_2xx_3xx: u64,
    pub wrk_socket_errors: u64,
    pub recycles_failed: u64,
    /// What the first failed recycle answered.
    pub first_recycle_failure: Option<String>,
    pub total: u64,
}

#[derive(Debug, Serialize)]
pub struct Timing {
    pub median: f64,
    pub max: f64,
    pub samples: Vec<f64>,
}

#[derive(Debug, Serialize)]
pub struct Rss {
    /// The first host after W2 at full load.
    pub fresh: u64,
    /// The same host after the swaps.
    pub after_swaps: u64,
    /// The last successor after W2 at full load.
    pub after_recycle: u64,
    /// `after_recycle / fresh`.
    pub after_recycle_over_fresh: f64,
}

/// Everything the run needs.
#[derive(Debug)]
pub struct RecycleConfig<'a> {
    pub launcher: &'a Launcher<'a>,
    pub artifacts: &'a Artifacts,
    pub wrk: &'a Wrk,
    pub plan: &'a Plan,
    pub work_dir: &'a std::path::Path,
}

/// A recycle's successor loads, warms up and hands over well within this, even with its
/// core saturated by the load; past it the run fails rather than hangs.
const RECYCLE_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

pub fn run(config: &RecycleConfig<'_>) -> anyhow::Result<Recycle> {
    let RecycleConfig {
        launcher,
        artifacts,
        wrk,
        plan,
        work_dir,
    } = *config;
    let plugins_dir = work_dir.join("recycle-plugins");
    fs::create_dir_all(&plugins_dir)
        .with_context(|| format!("cannot create {}", plugins_dir.display()))?;
    let stage = Stage {
        staging: plugins_dir.join(reload::STAGING),
        live: plugins_dir.join(reload::LIVE),
    };
    let (first, second) = (&artifacts.base, &artifacts.alternate);
    stage.prepare(first)?;
    stage.rename()?;
    let server = launcher.start(&Instance {
        label: "recycle host",
        plugins_dir: &plugins_dir,
        copies_dir: &work_dir.join("recycle-copies"),
        keep_copies: false,
        retired_limit: Some(plan.swaps + 1),
        backends: &[],
    })?;
    server.wait_for_adapter(POLL_PATH, &reload::label(first))?;
    let first_pid = server.pid();
    // Whatever happens below, no successor outlives the run.
    let mut serving = Serving(first_pid);

    eprintln!("recycle: fresh host, {PATH} ({} s)", plan.reload_secs);
    wrk.run(&server.url(PATH), plan.reload_secs)?;
    let rss_fresh = procfs::rss_kib(first_pid)?;

    eprintln!("recycle: {} swaps", plan.swaps);
    let mut poller = Connection::open(server.listen, reload::SWAP_TIMEOUT)?;
    for index in 0..plan.swaps {
        let build = if index % 2 == 0 { second } else { first };
        stage.prepare(build)?;
        reload::swap(&stage, &mut poller, &reload::label(build))
            .with_context(|| format!("swap {} of {}", index + 1, plan.swaps))?;
    }
    drop(poller);
    let rss_after_swaps = procfs::rss_kib(first_pid)?;
    let retired_after_swaps = reload::retired(&server)?;

    let secs = plan.reload_secs * 2;
    eprintln!(
        "recycle: {} recycles under load {PATH} ({secs} s)",
        plan.recycles
    );
    let running = wrk.spawn(&server.url(PATH), secs)?;
    let start = Instant::now();
    let spacing = Duration::from_secs(secs)
        .checked_div(u32::try_from(plan.recycles + 1).context("too many recycles")?)
        .context("no recycles")?;
    let mut timings = Vec::with_capacity(plan.recycles);
    let mut recycles_failed = 0;
    let mut first_recycle_failure = None;
    for index in 0..plan.recycles {
        let slot = start + spacing * u32::try_from(index + 1).context("too many recycles")?;
        thread::sleep(slot.saturating_duration_since(Instant::now()));
        let sent = Instant::now();
        let response = http::request(
            server.admin,
            "POST",
            "/admin/recycle",
            Some("{}"),
            RECYCLE_TIMEOUT,
        )
        .with_context(|| format!("recycle {} of {}", index + 1, plan.recycles))?;
        let answer: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
        match answer["successor_pid"].as_u64() {
            Some(pid) if response.status == 200 => {
                timings.push(sent.elapsed().as_micros() as f64 / 1e3);
                serving.0 = u32::try_from(pid).context("a pid that does not fit u32")?;
            }
            _ => {
                recycles_failed += 1;
                first_recycle_failure.get_or_insert_with(|| {
                    format!(
                        "{}: {}",
                        response.status,
                        String::from_utf8_lossy(&response.body).trim()
                    )
                });
            }
        }
    }
    let during_recycles = running.wait()?;
    let rss_after_recycle = procfs::rss_kib(serving.0)?;
    let retired_after_recycles = reload::retired(&server)?;
    let last_pid = serving.0;
    // The first host handed over long ago: this reaps it. Then the last successor stops.
    server.stop()?;
    serving.stop()?;

    let errors = during_recycles.stats.socket_errors;
    let wrk_socket_errors = errors.connect + errors.read + errors.write + errors.timeout;
    Ok(Recycle {
        instance: format!(
            "a host instance of its own (pid {first_pid}, pinned like the others) whose plugins directory holds only {}; its successors inherit the pinning",
            reload::LIVE
        ),
        path: PATH,
        swaps: plan.swaps,
        recycles: plan.recycles,
        phase_secs: secs,
        failed: Failed {
            wrk_non_2xx_3xx: during_recycles.stats.non_2xx_3xx,
            wrk_socket_errors,
            recycles_failed,
            first_recycle_failure,
            total: during_recycles.stats.failures() + recycles_failed,
        },
        during_recycles,
        recycle_ms: Timing {
            median: stats::median(&timings),
            max: stats::percentile(&timings, 100.0),
            samples: timings,
        },
        rss_kib: Rss {
            fresh: rss_fresh,
            after_swaps: rss_after_swaps,
            after_recycle: rss_after_recycle,
            after_recycle_over_fresh: rss_after_recycle as f64 / rss_fresh as f64,
        },
        retired_after_swaps,
        retired_after_recycles,
        pids: [first_pid, last_pid],
    })
}

/// The process serving now: a successor is no child of ours (its parent was the host before
/// it), so it is stopped by pid, and killed if the run ends early.
struct Serving(u32);

impl Serving {
    /// SIGTERM, then waits until the process is gone.
    fn stop(&mut self) -> anyhow::Result<()> {
        signal(self.0, libc::SIGTERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while !gone(self.0) {
            if Instant::now() >= deadline {
                bail!(
                    "the last successor (pid {}) did not exit after SIGTERM",
                    self.0
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if !gone(self.0) {
            signal(self.0, libc::SIGKILL);
        }
    }
}

/// Gone, or a zombie whose reaper is not us.
fn gone(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn signal(pid: u32, signal: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) takes two integers and touches no memory of ours. `pid` is the host
    // this run started or a successor the host named; a signal to a pid that has gone
    // meanwhile fails with ESRCH, which is ignored.
    let _ = unsafe { libc::kill(pid, signal) };
}
