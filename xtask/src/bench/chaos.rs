//! The chaos run: W3's fan-out (the `bench` adapter's ten parallel calls to backend
//! `fanout`, the sample `catalog` service answering after 5 ms) while that service hangs,
//! on two hosts in turn: one with the fixed bulkhead (the default), one with `concurrency =
//! "adaptive"`. Each takes [`CONNECTIONS`] closed-loop connections for a healthy phase, then
//! the service hangs for the fault phase. Reported per host: p99 while healthy and during
//! the fault, p99 per second of the fault, and the time from the fault's start until pages
//! stop paying the backend's timeout (the start of the first second whose pages have a p99
//! below it); also the calls refused while healthy (shedding a healthy backend would be a
//! defect) and the attempts that reached the hung service. Figures only: it never fails on
//! timing, only on device requests that fail.

use std::{
    fs,
    net::SocketAddr,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use serde::Serialize;

use super::{
    Plan, fanout,
    server::{Instance, Launcher, Server},
    stats,
};
use crate::{http::Connection, sample_backends::SampleBackends};

/// W3's connections: 80 backend calls in flight while healthy.
pub const CONNECTIONS: usize = fanout::CONNECTIONS as usize;
/// The backend's timeout on both hosts (the default).
const TIMEOUT_MS: u64 = 1000;
const BACKEND: &str = "fanout";
const SERVICE: &str = "catalog";
const PATH: &str = "/bench/fanout";
/// A device request waits at most one backend timeout; this bounds a broken one.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the chaos run found.
#[derive(Debug, Serialize)]
pub struct Chaos {
    pub path: &'static str,
    pub connections: usize,
    pub healthy_secs: u64,
    pub fault_secs: u64,
    pub backend_timeout_ms: u64,
    /// `fixed` first, then `adaptive`.
    pub hosts: Vec<ChaosHost>,
}

#[derive(Debug, Serialize)]
pub struct ChaosHost {
    pub concurrency: &'static str,
    /// Pages that ended before the fault began.
    pub healthy: Phase,
    /// Pages that began once it had begun.
    pub fault: Phase,
    /// p99 (ms) of the pages begun in each second of the fault; `None`: no page began.
    pub fault_p99_ms_by_second: Vec<Option<f64>>,
    /// Seconds from the fault's start to the first second whose pages' p99 is below the
    /// backend's timeout; `None`: not within the fault phase.
    pub relief_after_secs: Option<u64>,
    /// Backend calls refused (`rejected`) before the fault: 0 unless a healthy backend was
    /// limited.
    pub rejected_while_healthy: u64,
    /// Attempts that went out to the hung service during the fault.
    pub attempts_during_fault: u64,
    /// Calls refused during the fault, by the limit or the breaker.
    pub refused_during_fault: u64,
    /// The concurrency limit and breaker state at the end, from `/admin/backends`.
    pub limit_at_end: u64,
    pub breaker_at_end: String,
    /// Device requests that failed (a socket error or an answer other than 200).
    pub failed_requests: u64,
}

#[derive(Debug, Serialize)]
pub struct Phase {
    pub requests: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Everything the run needs.
#[derive(Debug)]
pub struct ChaosConfig<'a> {
    pub launcher: &'a Launcher<'a>,
    pub plan: &'a Plan,
    pub work_dir: &'a Path,
    /// Holding the `bench` adapter.
    pub plugins_dir: &'a Path,
    pub sample_backends: &'a Path,
    pub backends_core: Option<usize>,
}

pub fn run(config: &ChaosConfig<'_>) -> anyhow::Result<Chaos> {
    let healthy_secs = config.plan.run_secs;
    let fault_secs = 3 * config.plan.run_secs;
    let base_port = fanout::free_base_port()?;
    let services = SampleBackends::start_pinned(
        config.sample_backends,
        base_port,
        true,
        config.backends_core,
    )?;
    let mut hosts = Vec::new();
    for concurrency in ["fixed", "adaptive"] {
        let healthy = format!(r#"{{"latency_ms":{}}}"#, fanout::LATENCY_MS);
        services.set_faults(SERVICE, &healthy)?;
        let config_file = config.work_dir.join(format!("chaos-{concurrency}.toml"));
        fs::write(
            &config_file,
            format!(
                "[backends.{BACKEND}]\nurl = \"{}\"\ntimeout_ms = {TIMEOUT_MS}\nconcurrency = \"{concurrency}\"\n",
                services.url(SERVICE)
            ),
        )
        .with_context(|| format!("cannot write {}", config_file.display()))?;
        let server = config.launcher.start_with_config(
            &Instance {
                label: &format!("chaos host ({concurrency})"),
                plugins_dir: config.plugins_dir,
                copies_dir: &config.work_dir.join("chaos-copies"),
                keep_copies: false,
                retired_limit: None,
                backends: &[],
            },
            Some(&config_file),
        )?;
        let host = measure(&server, &services, concurrency, healthy_secs, fault_secs);
        server.stop()?;
        hosts.push(host?);
    }
    services.stop();
    Ok(Chaos {
        path: PATH,
        connections: CONNECTIONS,
        healthy_secs,
        fault_secs,
        backend_timeout_ms: TIMEOUT_MS,
        hosts,
    })
}

/// One page: when it began (since the load's start), how long it took, whether it failed.
struct Page {
    began: Duration,
    took: Duration,
    failed: bool,
}

fn measure(
    server: &Server,
    services: &SampleBackends,
    concurrency: &'static str,
    healthy_secs: u64,
    fault_secs: u64,
) -> anyhow::Result<ChaosHost> {
    eprintln!(
        "chaos ({concurrency}): {PATH} with {CONNECTIONS} connections, {healthy_secs} s healthy, then `{SERVICE}` hangs for {fault_secs} s"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let loaders: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (stop, listen) = (stop.clone(), server.listen);
            thread::spawn(move || load(listen, started, &stop))
        })
        .collect();
    thread::sleep(Duration::from_secs(healthy_secs));
    let before = totals(server)?;
    services.set_faults(SERVICE, r#"{"hang":true}"#)?;
    let fault_began = started.elapsed();
    thread::sleep(Duration::from_secs(fault_secs));
    stop.store(true, Ordering::Relaxed);
    let mut pages = Vec::new();
    for loader in loaders {
        pages.extend(
            loader
                .join()
                .map_err(|_| anyhow::anyhow!("a chaos load thread panicked"))?,
        );
    }
    let after = totals(server)?;
    let healthy: Vec<f64> = pages
        .iter()
        .filter(|page| page.began + page.took < fault_began)
        .map(millis)
        .collect();
    let fault_pages: Vec<&Page> = pages
        .iter()
        .filter(|page| page.began >= fault_began)
        .collect();
    let by_second: Vec<Option<f64>> = (0..fault_secs)
        .map(|second| {
            let window = fault_began + Duration::from_secs(second)
                ..fault_began + Duration::from_secs(second + 1);
            let took: Vec<f64> = fault_pages
                .iter()
                .filter(|page| window.contains(&page.began))
                .map(|page| millis(page))
                .collect();
            (!took.is_empty()).then(|| stats::percentile(&took, 99.0))
        })
        .collect();
    let relief_after_secs = by_second
        .iter()
        .position(|p99| p99.is_some_and(|p99| p99 < TIMEOUT_MS as f64))
        .map(|second| second as u64);
    let fault: Vec<f64> = fault_pages.iter().map(|page| millis(page)).collect();
    let host = ChaosHost {
        concurrency,
        healthy: phase(&healthy),
        fault: phase(&fault),
        fault_p99_ms_by_second: by_second,
        relief_after_secs,
        rejected_while_healthy: before.rejected,
        attempts_during_fault: after.attempts.saturating_sub(before.attempts),
        refused_during_fault: (after.rejected + after.circuit_open)
            .saturating_sub(before.rejected + before.circuit_open),
        limit_at_end: after.limit,
        breaker_at_end: after.breaker,
        failed_requests: pages.iter().filter(|page| page.failed).count() as u64,
    };
    eprintln!(
        "chaos ({concurrency}): p99 healthy {:.1} ms, during the fault {:.1} ms; pages stop paying the {TIMEOUT_MS} ms timeout after {}; {} attempts reached the hung service",
        host.healthy.p99_ms,
        host.fault.p99_ms,
        host.relief_after_secs.map_or_else(
            || "never (within the fault)".to_owned(),
            |secs| format!("{secs} s")
        ),
        host.attempts_during_fault
    );
    Ok(host)
}

/// One closed-loop connection until `stop`: its pages.
fn load(listen: SocketAddr, started: Instant, stop: &AtomicBool) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut connection = None;
    while !stop.load(Ordering::Relaxed) {
        let began = started.elapsed();
        let answered = reuse_or_open(&mut connection, listen).and_then(|open| open.get(PATH));
        let failed = !matches!(&answered, Ok(response) if response.status == 200);
        pages.push(Page {
            began,
            took: started.elapsed() - began,
            failed,
        });
        if answered.is_err() {
            connection = None;
            // A host that refuses connections must not turn this loop into a spin.
            thread::sleep(Duration::from_millis(10));
        }
    }
    pages
}

fn reuse_or_open(
    connection: &mut Option<Connection>,
    listen: SocketAddr,
) -> anyhow::Result<&mut Connection> {
    if connection.is_none() {
        *connection = Some(Connection::open(listen, REQUEST_TIMEOUT)?);
    }
    connection
        .as_mut()
        .context("the connection was just opened")
}

fn millis(page: &Page) -> f64 {
    page.took.as_secs_f64() * 1000.0
}

fn phase(took_ms: &[f64]) -> Phase {
    Phase {
        requests: took_ms.len(),
        p50_ms: stats::percentile(took_ms, 50.0),
        p99_ms: stats::percentile(took_ms, 99.0),
        max_ms: took_ms.iter().copied().fold(f64::NAN, f64::max),
    }
}

/// What `/admin/backends` says of [`BACKEND`].
struct Totals {
    attempts: u64,
    rejected: u64,
    circuit_open: u64,
    limit: u64,
    breaker: String,
}

fn totals(server: &Server) -> anyhow::Result<Totals> {
    let view = server.admin_backends()?;
    let backend = view["backends"]
        .as_array()
        .and_then(|backends| backends.iter().find(|backend| backend["name"] == BACKEND))
        .with_context(|| format!("GET /admin/backends lists no backend `{BACKEND}`"))?;
    let count = |value: &serde_json::Value| value.as_u64().unwrap_or(0);
    Ok(Totals {
        attempts: count(&backend["attempts"]),
        rejected: count(&backend["totals"]["rejected"]),
        circuit_open: count(&backend["totals"]["circuit_open"]),
        limit: count(&backend["concurrency"]["limit"]),
        breaker: backend["breaker"].as_str().unwrap_or("").to_owned(),
    })
}

/// The chaos lines of the printed report.
pub fn block(chaos: &Chaos) -> String {
    let mut out = format!(
        "chaos: {} with {} connections, `{SERVICE}` behind `{BACKEND}` hangs after {} s healthy, for {} s (timeout {} ms)\n",
        chaos.path,
        chaos.connections,
        chaos.healthy_secs,
        chaos.fault_secs,
        chaos.backend_timeout_ms
    );
    for host in &chaos.hosts {
        let relief = host
            .relief_after_secs
            .map_or_else(|| "never".to_owned(), |secs| format!("{secs} s"));
        out.push_str(&format!(
            "  {:<8} p99 healthy {:>7.1} ms, fault {:>7.1} ms; pages below the timeout after {relief}; attempts at the hung service {}, refused {}; refused while healthy {}; limit at end {}, breaker {}\n",
            host.concurrency,
            host.healthy.p99_ms,
            host.fault.p99_ms,
            host.attempts_during_fault,
            host.refused_during_fault,
            host.rejected_while_healthy,
            host.limit_at_end,
            host.breaker_at_end,
        ));
    }
    out
}

impl Chaos {
    /// One line per host whose device requests failed.
    pub fn failures(&self) -> Vec<String> {
        self.hosts
            .iter()
            .filter(|host| host.failed_requests > 0)
            .map(|host| {
                format!(
                    "chaos ({}): {} device requests failed",
                    host.concurrency, host.failed_requests
                )
            })
            .collect()
    }
}
