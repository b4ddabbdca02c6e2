//! R1, reload under load: W2 at full load on a host instance of its own, whose plugins
//! directory holds only `bench-live.so`, while the two builds of the bench adapter take turns
//! being renamed onto that name. Reload latency is rename → first answer from the new
//! version, as seen by a keep-alive poller.
//!
//! A second instance rather than the W1/W2 host, so the retired versions and the memory they
//! keep mapped are R1's alone, and W1/W2 ran on a host that never reloaded. R1 runs twice:
//! with the default deployer (nice 10) and with `deployer_idle = true` (`SCHED_IDLE`), each
//! on a fresh instance, so the report sets the two side by side.

use std::{
    fs,
    path::Path,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use serde::Serialize;

use super::{
    Plan,
    artifacts::{Artifacts, BENCH_PACKAGE, BenchBuild},
    procfs::{self, CpuByThread},
    server::{Instance, Launcher, Server},
    stats,
    wrk::{Load, Wrk},
};
use crate::http::Connection;

/// What R1 found.
#[derive(Debug, Serialize)]
pub struct Reload {
    /// The deployer's scheduling: "nice 10 (default)" or "SCHED_IDLE (deployer_idle = true)".
    pub deployer: &'static str,
    pub instance: String,
    pub path: &'static str,
    /// Length of the steady-state run and of the run with swaps.
    pub phase_secs: u64,
    pub swaps: usize,
    /// The versions swapped in, alternately, starting with the second.
    pub versions: [String; 2],
    /// The poller's first interval; later ones are a twentieth of the time since the
    /// rename.
    pub poll_interval_us: u128,
    pub steady: Load,
    pub during_swaps: Load,
    /// During swaps over steady state.
    pub ratios: Ratios,
    pub failed: Failed,
    pub reload_latency_ms: Latency,
    /// When the last rename happened, in seconds after the swap run started.
    pub last_swap_at_secs: f64,
    pub rss_kib: Rss,
    /// `retired` from `/admin/plugins` at the end.
    pub retired: Retired,
    /// `frontdoor_load_probes_total` at the end: how the swaps' load probes ran.
    pub probes: ProbeRuns,
    /// Where the host's CPU went in each phase: the reload's cost, by thread.
    pub cpu: ReloadCpu,
}

/// The host's CPU time in the steady run and in the run with swaps (same length), by
/// where it went; the difference per swap is what a reload costs the host's core.
#[derive(Debug, Serialize)]
pub struct ReloadCpu {
    pub groups: Vec<CpuGroup>,
    /// CPU of the serving threads per request answered: steady, during swaps (µs).
    pub serving_us_per_request: [f64; 2],
}

#[derive(Debug, Serialize)]
pub struct CpuGroup {
    pub what: &'static str,
    pub steady_ms: f64,
    pub swaps_ms: f64,
    /// (swaps − steady) / swaps.
    pub extra_per_swap_ms: f64,
}

/// The serving threads' name: tokio's workers (and its blocking pool's).
const SERVING_THREADS: &str = "tokio-rt-worker";
/// The deployer thread's name as `/proc` shows it (cut to 15 bytes).
const DEPLOYER_THREAD: &str = "frontdoor-deplo";
/// What [`split`] puts in each place.
const GROUPS: [&str; 5] = [
    "serving threads (tokio)",
    "deployer thread",
    "load probes (child processes)",
    "exited threads (init hooks)",
    "other threads",
];

/// A snapshot's CPU time in the order of [`GROUPS`].
fn split(cpu: &CpuByThread) -> [Duration; 5] {
    let named = |name: &str| cpu.threads.get(name).copied().unwrap_or_default();
    let others = cpu
        .threads
        .iter()
        .filter(|(name, _)| *name != SERVING_THREADS && *name != DEPLOYER_THREAD)
        .map(|(_, time)| *time)
        .sum();
    [
        named(SERVING_THREADS),
        named(DEPLOYER_THREAD),
        cpu.children,
        cpu.exited_threads,
        others,
    ]
}

impl ReloadCpu {
    /// From snapshots before the steady run, between the runs and after the swaps, and the
    /// requests each run answered.
    fn between(snapshots: [&CpuByThread; 3], requests: [u64; 2], swaps: usize) -> Self {
        let [before, between, after] = snapshots.map(split);
        let ms = |from: Duration, to: Duration| to.saturating_sub(from).as_secs_f64() * 1e3;
        let groups = GROUPS
            .iter()
            .enumerate()
            .map(|(index, what)| {
                let steady_ms = ms(before[index], between[index]);
                let swaps_ms = ms(between[index], after[index]);
                CpuGroup {
                    what,
                    steady_ms,
                    swaps_ms,
                    extra_per_swap_ms: (swaps_ms - steady_ms) / swaps.max(1) as f64,
                }
            })
            .collect();
        let per_request = |ms: f64, requests: u64| ms * 1e3 / requests.max(1) as f64;
        Self {
            groups,
            serving_us_per_request: [
                per_request(ms(before[0], between[0]), requests[0]),
                per_request(ms(between[0], after[0]), requests[1]),
            ],
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Ratios {
    pub requests_per_sec: f64,
    pub p99: f64,
}

/// Failed or non-200 answers during the swaps.
#[derive(Debug, Serialize)]
pub struct Failed {
    pub wrk_non_2xx_3xx: u64,
    pub wrk_socket_errors: u64,
    pub poller_non_200: u64,
    pub total: u64,
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub median: f64,
    pub p99: f64,
    pub max: f64,
    /// One per swap, in order.
    pub samples: Vec<f64>,
}

#[derive(Debug, Serialize)]
pub struct Rss {
    pub before_first_swap: u64,
    pub after_last_swap: u64,
    /// (after − before) / swaps.
    pub growth_per_retired_version: f64,
}

#[derive(Debug, Serialize)]
pub struct Retired {
    pub count: u64,
    pub bytes: u64,
}

/// Load probe processes by how they ran (`frontdoor_load_probes_total{run}`).
#[derive(Debug, Serialize)]
pub struct ProbeRuns {
    /// `SCHED_IDLE`, to the end.
    pub idle: u64,
    /// `SCHED_IDLE`, held back from a CPU past the bound and run again as `normal`.
    pub held_back: u64,
    /// At the loading thread's priority (the start-up load included).
    pub normal: u64,
}

/// Everything R1 needs.
#[derive(Debug)]
pub struct ReloadConfig<'a> {
    pub launcher: &'a Launcher<'a>,
    pub artifacts: &'a Artifacts,
    pub wrk: &'a Wrk,
    pub plan: &'a Plan,
    /// Where its plugins directory and the host's copies go.
    pub work_dir: &'a Path,
    /// Run the deployer under `SCHED_IDLE` (`deployer_idle = true`).
    pub deployer_idle: bool,
}

/// The W2 request R1 loads the host with.
pub(super) const PATH: &str = "/bench/home?profile=7";
/// What the poller asks for.
pub(super) const POLL_PATH: &str = "/bench/hello";
/// The poller's interval right after a rename...
const POLL_INTERVAL: Duration = Duration::from_micros(200);
/// ...and later a twentieth of the time since the rename, so each latency is timed to
/// within 5 %. Every poll is a request the host's serving thread answers besides wrk's, and
/// at a fixed 200 µs a load probe held back for a CPU for its 1 s bound cost 5,000 of them
/// (about 25 ms of the serving core, counted against R1's req/s); now about 130.
const POLL_SHARE: u32 = 20;
/// The longest a swap may take to show.
pub(super) const SWAP_TIMEOUT: Duration = Duration::from_secs(5);
/// The artifact name in the plugins directory.
pub(super) const LIVE: &str = "bench-live.so";
/// Dot-files are ignored by the host: the copy is written here, then renamed onto [`LIVE`].
pub(super) const STAGING: &str = ".bench-live.so.tmp";

pub fn run(config: &ReloadConfig<'_>) -> anyhow::Result<Reload> {
    let ReloadConfig {
        launcher,
        artifacts,
        wrk,
        plan,
        work_dir,
        deployer_idle,
    } = *config;
    let (name, deployer) = if deployer_idle {
        ("r1-idle", "SCHED_IDLE (deployer_idle = true)")
    } else {
        ("r1", "nice 10 (default)")
    };
    let plugins_dir = work_dir.join(format!("{name}-plugins"));
    fs::create_dir_all(&plugins_dir)
        .with_context(|| format!("cannot create {}", plugins_dir.display()))?;
    let stage = Stage {
        staging: plugins_dir.join(STAGING),
        live: plugins_dir.join(LIVE),
    };
    let (first, second) = (&artifacts.base, &artifacts.alternate);
    stage.prepare(first)?;
    stage.rename()?;
    let config_file = work_dir.join(format!("{name}.toml"));
    fs::write(&config_file, format!("deployer_idle = {deployer_idle}\n"))
        .with_context(|| format!("cannot write {}", config_file.display()))?;
    let setup = Instance {
        label: if deployer_idle {
            "R1 host, deployer SCHED_IDLE"
        } else {
            "R1 host"
        },
        plugins_dir: &plugins_dir,
        copies_dir: &work_dir.join(format!("{name}-copies")),
        keep_copies: false,
        // R1 retires one version per swap by design: keep the host's warning about too many
        // retired versions out of the log.
        retired_limit: Some(plan.swaps + 1),
        backends: &[],
    };
    let server = launcher.start_with_config(&setup, Some(&config_file))?;
    server.wait_for_adapter(POLL_PATH, &label(first))?;

    eprintln!(
        "R1 ({deployer}) steady state {PATH} ({} s)",
        plan.reload_secs
    );
    let cpu_before = procfs::cpu_by_thread(server.pid())?;
    let steady = wrk.run(&server.url(PATH), plan.reload_secs)?;
    let cpu_between = procfs::cpu_by_thread(server.pid())?;
    let rss_before = procfs::rss_kib(server.pid())?;
    eprintln!(
        "R1 ({deployer}) {} swaps under load {PATH} ({} s)",
        plan.swaps, plan.reload_secs
    );
    let mut poller = Connection::open(server.listen, SWAP_TIMEOUT)?;
    let running = wrk.spawn(&server.url(PATH), plan.reload_secs)?;
    let start = Instant::now();
    let spacing = Duration::from_secs(plan.reload_secs)
        .checked_div(u32::try_from(plan.swaps + 1).context("too many swaps")?)
        .context("no swaps")?;
    let mut latencies = Vec::with_capacity(plan.swaps);
    let mut poller_non_200 = 0;
    let mut last_swap_at = Duration::ZERO;
    for index in 0..plan.swaps {
        let build = if index % 2 == 0 { second } else { first };
        stage.prepare(build)?;
        let slot = start + spacing * u32::try_from(index + 1).context("too many swaps")?;
        thread::sleep(slot.saturating_duration_since(Instant::now()));
        last_swap_at = start.elapsed();
        let swap = swap(&stage, &mut poller, &label(build))
            .with_context(|| format!("swap {} of {}", index + 1, plan.swaps))?;
        // In ms with µs precision: finer would be noise.
        latencies.push(swap.latency.as_micros() as f64 / 1e3);
        poller_non_200 += swap.non_200;
    }
    let during_swaps = running.wait()?;
    let cpu_after = procfs::cpu_by_thread(server.pid())?;
    let rss_after = procfs::rss_kib(server.pid())?;
    let retired = retired(&server)?;
    let probes = probe_runs(&server)?;
    let instance = format!(
        "a second host instance (pid {}, pinned like the first) whose plugins directory holds only {LIVE}",
        server.pid()
    );
    server.stop()?;

    let errors = during_swaps.stats.socket_errors;
    let cpu = ReloadCpu::between(
        [&cpu_before, &cpu_between, &cpu_after],
        [steady.stats.requests, during_swaps.stats.requests],
        plan.swaps,
    );
    let failed = Failed {
        wrk_non_2xx_3xx: during_swaps.stats.non_2xx_3xx,
        wrk_socket_errors: errors.connect + errors.read + errors.write + errors.timeout,
        poller_non_200,
        total: during_swaps.stats.failures() + poller_non_200,
    };
    Ok(Reload {
        deployer,
        instance,
        path: PATH,
        phase_secs: plan.reload_secs,
        swaps: plan.swaps,
        versions: [label(first), label(second)],
        poll_interval_us: POLL_INTERVAL.as_micros(),
        ratios: Ratios {
            requests_per_sec: during_swaps.stats.requests_per_sec / steady.stats.requests_per_sec,
            p99: during_swaps.stats.p99_us / steady.stats.p99_us,
        },
        steady,
        during_swaps,
        failed,
        reload_latency_ms: Latency {
            median: stats::median(&latencies),
            p99: stats::percentile(&latencies, 99.0),
            max: stats::percentile(&latencies, 100.0),
            samples: latencies,
        },
        last_swap_at_secs: last_swap_at.as_secs_f64(),
        rss_kib: Rss {
            before_first_swap: rss_before,
            after_last_swap: rss_after,
            // Precision does not matter for a few hundred MB in KiB.
            growth_per_retired_version: (rss_after as f64 - rss_before as f64) / plan.swaps as f64,
        },
        retired,
        probes,
        cpu,
    })
}

/// The staging file and the live name, both in the plugins directory.
pub(super) struct Stage {
    pub(super) staging: std::path::PathBuf,
    pub(super) live: std::path::PathBuf,
}

impl Stage {
    /// Copies `build` to the staging name. Not fsynced: a benchmark does not need the
    /// durability `build-plugin` gives, and the copy happens before the timed rename.
    pub(super) fn prepare(&self, build: &BenchBuild) -> anyhow::Result<()> {
        fs::copy(&build.shipped, &self.staging)
            .map(drop)
            .with_context(|| {
                format!(
                    "cannot copy {} to {}",
                    build.shipped.display(),
                    self.staging.display()
                )
            })
    }

    /// Renames the staging file onto the live name: the host sees a complete file appear.
    pub(super) fn rename(&self) -> anyhow::Result<()> {
        fs::rename(&self.staging, &self.live).with_context(|| {
            format!(
                "cannot rename {} to {}",
                self.staging.display(),
                self.live.display()
            )
        })
    }
}

pub(super) struct Swap {
    pub(super) latency: Duration,
    pub(super) non_200: u64,
}

/// Renames the staged build into place and polls until `adapter` answers.
pub(super) fn swap(stage: &Stage, poller: &mut Connection, adapter: &str) -> anyhow::Result<Swap> {
    let renamed = Instant::now();
    stage.rename()?;
    let mut non_200 = 0;
    loop {
        let sent = Instant::now();
        let response = poller.get(POLL_PATH)?;
        if response.status != 200 {
            non_200 += 1;
        } else if response.header("x-frontdoor-adapter") == Some(adapter) {
            return Ok(Swap {
                latency: renamed.elapsed(),
                non_200,
            });
        }
        if renamed.elapsed() >= SWAP_TIMEOUT {
            bail!(
                "GET {POLL_PATH} still answers {} from `{}`, not {adapter}, {} s after the rename onto {LIVE}; see the host log",
                response.status,
                response.header("x-frontdoor-adapter").unwrap_or_default(),
                SWAP_TIMEOUT.as_secs()
            );
        }
        thread::sleep(
            (sent + poll_interval(renamed.elapsed())).saturating_duration_since(Instant::now()),
        );
    }
}

/// How long after a poll the next one is sent, `since_rename` after the rename.
fn poll_interval(since_rename: Duration) -> Duration {
    POLL_INTERVAL.max(since_rename / POLL_SHARE)
}

/// `bench@1.0.1`, as in `x-frontdoor-adapter`.
pub(super) fn label(build: &BenchBuild) -> String {
    format!("{BENCH_PACKAGE}@{}", build.version)
}

pub(super) fn retired(server: &Server) -> anyhow::Result<Retired> {
    let plugins = server.admin_plugins()?;
    let field = |name: &str| {
        plugins["retired"][name]
            .as_u64()
            .with_context(|| format!("GET /admin/plugins has no number retired.{name}"))
    };
    Ok(Retired {
        count: field("count")?,
        bytes: field("bytes")?,
    })
}

fn probe_runs(server: &Server) -> anyhow::Result<ProbeRuns> {
    let runs = |run: &str| server.counter(&format!("frontdoor_load_probes_total{{run=\"{run}\"}}"));
    Ok(ProbeRuns {
        idle: runs("idle")?,
        held_back: runs("held_back")?,
        normal: runs("normal")?,
    })
}

#[cfg(test)]
mod tests;
