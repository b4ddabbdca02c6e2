//! W1 and W2: the `bench` adapter against the same code compiled into the host
//! (`/static-bench/`), in alternating runs (adapter, static, adapter, static, ...), each with
//! the host's CPU time per request.

use std::time::Duration;

use anyhow::{Context as _, ensure};
use serde::Serialize;

use super::{
    Plan, procfs,
    server::Server,
    stats,
    wrk::{Load, Wrk},
};
use crate::http;

/// A workload served both ways.
#[derive(Debug)]
pub struct Workload {
    pub id: &'static str,
    pub name: &'static str,
    /// Through the adapter.
    pub adapter: &'static str,
    /// Through the static handler compiled into the host.
    pub baseline: &'static str,
}

pub const W1: Workload = Workload {
    id: "W1",
    name: "hello",
    adapter: "/bench/hello",
    baseline: "/static-bench/hello",
};

pub const W2: Workload = Workload {
    id: "W2",
    name: "home",
    adapter: "/bench/home?profile=123",
    baseline: "/static-bench/home?profile=123",
};

/// The measurements of one workload.
#[derive(Debug, Serialize)]
pub struct Measured {
    pub id: &'static str,
    pub name: &'static str,
    /// Each median is of this many runs per side.
    pub runs: usize,
    pub run_secs: u64,
    pub warmup_secs: u64,
    pub order: &'static str,
    pub adapter: Side,
    #[serde(rename = "static")]
    pub baseline: Side,
    /// Adapter over static, of the medians.
    pub ratios: Ratios,
}

/// One way of serving the workload.
#[derive(Debug, Serialize)]
pub struct Side {
    pub path: &'static str,
    pub warmup: Load,
    pub runs: Vec<Run>,
    pub median: Summary,
}

/// One measured run.
#[derive(Debug, Serialize)]
pub struct Run {
    #[serde(flatten)]
    pub load: Load,
    /// The host's user + system CPU time during the run.
    pub cpu_secs: f64,
    pub cpu_us_per_request: f64,
    /// Busy time of the host's core during the run that was not the host's: other
    /// processes, the kernel, the hypervisor. Large values mean a noisy run. `None` when
    /// the host is not pinned.
    pub host_core_other_busy_secs: Option<f64>,
}

/// Medians over the runs of one side.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Summary {
    pub requests_per_sec: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub cpu_us_per_request: f64,
}

#[derive(Debug, Serialize)]
pub struct Ratios {
    pub requests_per_sec: f64,
    pub p50: f64,
    pub p99: f64,
    pub cpu_per_request: f64,
}

/// Checks both paths give the same answer, warms each up, then measures them in turn.
pub fn measure(
    wrk: &Wrk,
    server: &Server,
    plan: &Plan,
    workload: &Workload,
) -> anyhow::Result<Measured> {
    check_same_answer(server, workload)?;
    let warm_up = |path: &str| {
        eprintln!("{} warm-up {path} ({} s)", workload.id, plan.warmup_secs);
        wrk.run(&server.url(path), plan.warmup_secs)
    };
    let adapter_warmup = warm_up(workload.adapter)?;
    let baseline_warmup = warm_up(workload.baseline)?;
    let [adapter_runs, baseline_runs] = alternate(
        wrk,
        plan,
        workload.id,
        &[
            Contender::on(server, workload.adapter, workload.adapter),
            Contender::on(server, workload.baseline, workload.baseline),
        ],
    )?;
    let adapter = side(workload.adapter, adapter_warmup, adapter_runs);
    let baseline = side(workload.baseline, baseline_warmup, baseline_runs);
    let (a, s) = (adapter.median, baseline.median);
    Ok(Measured {
        id: workload.id,
        name: workload.name,
        runs: plan.runs,
        run_secs: plan.run_secs,
        warmup_secs: plan.warmup_secs,
        order: "alternating: adapter, static, adapter, static, ...",
        ratios: Ratios::of(&a, &s),
        adapter,
        baseline,
    })
}

/// A measured server process: whose CPU time a run reads, and the core it is pinned to.
#[derive(Debug, Clone, Copy)]
pub struct Process {
    pub pid: u32,
    pub core: Option<usize>,
}

impl Process {
    /// The benchmark host `server`.
    pub fn of(server: &Server) -> Self {
        Self {
            pid: server.pid(),
            core: server.core,
        }
    }
}

/// One side of an alternating comparison: the URL its runs load and the process whose CPU
/// time they read.
pub struct Contender<'a> {
    pub label: &'a str,
    pub process: Process,
    pub url: String,
}

impl<'a> Contender<'a> {
    /// `path` on the benchmark host `server`.
    pub fn on(server: &Server, path: &str, label: &'a str) -> Self {
        Self {
            label,
            process: Process::of(server),
            url: server.url(path),
        }
    }
}

/// `plan.runs` rounds of one run of each contender in turn, so that drifts of the machine
/// hit every side alike, each run printed as `{what} run I/N {label}: ...`; the runs of
/// each contender, in the contenders' order.
pub fn alternate<const N: usize>(
    wrk: &Wrk,
    plan: &Plan,
    what: &str,
    contenders: &[Contender<'_>; N],
) -> anyhow::Result<[Vec<Run>; N]> {
    let mut runs: [Vec<Run>; N] = std::array::from_fn(|_| Vec::new());
    for index in 1..=plan.runs {
        for (contender, runs) in contenders.iter().zip(runs.iter_mut()) {
            let run = measure_process(wrk, &contender.process, &contender.url, plan.run_secs)?;
            eprintln!(
                "{what} run {index}/{} {}: {:.0} req/s, p50 {:.0} µs, p99 {:.0} µs, {:.2} µs CPU/request{}",
                plan.runs,
                contender.label,
                run.load.stats.requests_per_sec,
                run.load.stats.p50_us,
                run.load.stats.p99_us,
                run.cpu_us_per_request,
                run.other_busy_share()
                    .map(|share| format!(", host core {:.0} % busy with other work", share * 100.0))
                    .unwrap_or_default()
            );
            runs.push(run);
        }
    }
    Ok(runs)
}

/// One wrk run against `url` with `process`'s CPU time read from `/proc` before and after it.
pub fn measure_process(wrk: &Wrk, process: &Process, url: &str, secs: u64) -> anyhow::Result<Run> {
    let core_busy = || process.core.map(procfs::core_busy).transpose();
    let (busy_before, before) = (core_busy()?, procfs::cpu_time(process.pid)?);
    let load = wrk.run(url, secs)?;
    let (busy_after, after) = (core_busy()?, procfs::cpu_time(process.pid)?);
    let cpu = after.saturating_sub(before);
    let other_busy = busy_before
        .zip(busy_after)
        .map(|(before, after)| after.saturating_sub(before).saturating_sub(cpu));
    Ok(Run {
        cpu_us_per_request: cpu_us_per_request(cpu, load.stats.requests),
        cpu_secs: cpu.as_secs_f64(),
        host_core_other_busy_secs: other_busy.map(|busy| busy.as_secs_f64()),
        load,
    })
}

impl Ratios {
    /// `a` over `b`, of each median.
    pub fn of(a: &Summary, b: &Summary) -> Self {
        Self {
            requests_per_sec: a.requests_per_sec / b.requests_per_sec,
            p50: a.p50_us / b.p50_us,
            p99: a.p99_us / b.p99_us,
            cpu_per_request: a.cpu_us_per_request / b.cpu_us_per_request,
        }
    }
}

impl Run {
    /// The share of the run's duration the host's core spent on other work.
    pub fn other_busy_share(&self) -> Option<f64> {
        self.host_core_other_busy_secs
            .map(|busy| busy / self.load.stats.duration_secs)
    }
}

fn cpu_us_per_request(cpu: Duration, requests: u64) -> f64 {
    // Precision loss above 2^53 requests does not matter.
    cpu.as_secs_f64() * 1e6 / requests as f64
}

/// The runs of one side with their medians.
pub fn side(path: &'static str, warmup: Load, runs: Vec<Run>) -> Side {
    let median =
        |figure: fn(&Run) -> f64| stats::median(&runs.iter().map(figure).collect::<Vec<_>>());
    let median = Summary {
        requests_per_sec: median(|run| run.load.stats.requests_per_sec),
        p50_us: median(|run| run.load.stats.p50_us),
        p99_us: median(|run| run.load.stats.p99_us),
        cpu_us_per_request: median(|run| run.cpu_us_per_request),
    };
    Side {
        path,
        warmup,
        runs,
        median,
    }
}

/// The adapter and the static handler must answer 200 with the very same body, or the
/// comparison is not of the same work.
fn check_same_answer(server: &Server, workload: &Workload) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(5);
    let adapter = http::get(server.listen, workload.adapter, timeout)
        .with_context(|| format!("GET {} failed", workload.adapter))?;
    let baseline = http::get(server.listen, workload.baseline, timeout)
        .with_context(|| format!("GET {} failed", workload.baseline))?;
    for (path, response) in [(workload.adapter, &adapter), (workload.baseline, &baseline)] {
        ensure!(
            response.status == 200,
            "GET {path} answered {} instead of 200",
            response.status
        );
    }
    ensure!(
        adapter.body == baseline.body,
        "GET {} and GET {} answer different bodies ({} and {} bytes)",
        workload.adapter,
        workload.baseline,
        adapter.body.len(),
        baseline.body.len()
    );
    Ok(())
}
