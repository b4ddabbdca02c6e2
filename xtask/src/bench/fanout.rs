//! W3 fan-out: `GET /bench/fanout` on the W1/W2 host, whose backend `fanout` is the sample
//! backends' `catalog` service answering every call after 5 ms. The adapter makes ten calls
//! in parallel, so the ideal is one round trip. Its static counterpart is the same ten calls
//! compiled into the host (`/static-fanout/fanout`, through the same service layer without
//! the ABI), measured in alternating runs like W1 and W2; latency is also compared with the
//! 5 ms ideal.

use std::{
    collections::BTreeMap,
    net::{Ipv4Addr, TcpListener},
    path::Path,
    time::Duration,
};

use anyhow::{Context as _, ensure};
use serde::Serialize;

use super::{
    Plan,
    server::Server,
    workloads::{self, Contender, Side},
    wrk::{Load, Wrk},
};
use crate::{
    http,
    sample_backends::{self, SampleBackends},
};

pub const ID: &str = "W3";
pub const NAME: &str = "fan-out";
pub const PATH: &str = "/bench/fanout";
/// The same fan-out compiled into the host.
pub const STATIC_PATH: &str = "/static-fanout/fanout";
/// wrk's connections for W3. Eight requests in flight are 80 backend calls in flight, about
/// 16,000 calls/s at 5 ms each: well within what the sample backends answer on one core,
/// so the latency measured is the host's and not a queue at the backend.
pub const CONNECTIONS: u32 = 8;
/// Backend calls per request, each answered after [`LATENCY_MS`].
pub const CALLS: u64 = 10;
pub const LATENCY_MS: u64 = 5;

/// The backend name the `bench` adapter calls.
const BACKEND: &str = "fanout";
/// The sample service behind it.
const SERVICE: &str = "catalog";
const EXPECTED_BODY: &str = r#"{"calls":10,"ok":10}"#;
/// The sample backends take a control port and five service ports from a base port, looked
/// for from here on.
const FIRST_BASE_PORT: u16 = 19600;
const BASE_PORTS_TRIED: u16 = 400;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The sample backends, running for W3; dropping them stops them.
pub struct Backends {
    services: SampleBackends,
    pub setup: BackendSetup,
}

/// Where W3's backend runs and how it answers.
#[derive(Debug, Clone, Serialize)]
pub struct BackendSetup {
    /// The name the adapter calls it by.
    pub backend: &'static str,
    pub service: &'static str,
    pub url: String,
    /// The sample backends' control port; the services are on the next five.
    pub base_port: u16,
    /// Injected latency of every call.
    pub latency_ms: u64,
    /// The core the sample backends run on (`taskset -c`).
    pub core: Option<usize>,
}

/// What W3 found.
#[derive(Debug, Serialize)]
pub struct FanOut {
    pub id: &'static str,
    pub name: &'static str,
    pub compared_with: &'static str,
    /// Each median is of this many runs.
    pub runs: usize,
    pub run_secs: u64,
    pub warmup_secs: u64,
    pub connections: u32,
    pub calls_per_request: u64,
    pub backend: BackendSetup,
    /// `cpu_us_per_request` is the host's CPU only, backend calls included; the sample
    /// backends are another process.
    pub adapter: Side,
    /// The same calls compiled into the host.
    #[serde(rename = "static")]
    pub baseline: Side,
    /// Adapter over static, of the medians.
    pub static_ratios: workloads::Ratios,
    /// One backend round trip: every call runs in parallel.
    pub ideal_us: f64,
    /// Ten round trips, one after the other.
    pub sequential_us: f64,
    /// Medians over the ideal.
    pub ratios: Ratios,
    /// One run of wrk straight at the backend, `/ping?call=0` with as many connections as
    /// W3 has calls in flight, after W3: what the backend alone answers in. Above the ideal
    /// by about a millisecond, as tokio's timer rounds the injected sleep up.
    pub backend_alone: Load,
    /// The host's count of calls to the backend over the warm-up and the measured runs:
    /// W3 answers 200 even when calls fail, so its failures are counted here.
    pub backend_calls: BackendCalls,
}

#[derive(Debug, Serialize)]
pub struct Ratios {
    pub p50_over_ideal: f64,
    pub p99_over_ideal: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackendCalls {
    pub calls: u64,
    pub ok: u64,
    pub failed: u64,
    /// Failed calls by error kind (`timeout`, `rejected`, `circuit_open`, `status`,
    /// `transport`, `invalid`), from the host's own counters: why calls failed.
    pub failed_by_kind: BTreeMap<String, u64>,
}

/// The error kinds `GET /admin/backends` counts in `totals`.
const ERROR_KINDS: [&str; 6] = [
    "timeout",
    "rejected",
    "circuit_open",
    "status",
    "transport",
    "invalid",
];

impl BackendCalls {
    /// What happened between `before` and `self`.
    fn since(&self, before: &Self) -> Self {
        let calls = self.calls.saturating_sub(before.calls);
        let ok = self.ok.saturating_sub(before.ok);
        Self {
            calls,
            ok,
            failed: calls.saturating_sub(ok),
            failed_by_kind: self
                .failed_by_kind
                .iter()
                .map(|(kind, count)| {
                    let then = before.failed_by_kind.get(kind).copied().unwrap_or(0);
                    (kind.clone(), count.saturating_sub(then))
                })
                .filter(|(_, count)| *count > 0)
                .collect(),
        }
    }
}

/// Starts the sample backends quietly on a free port range, on `core` if given, with
/// [`LATENCY_MS`] of latency on the service W3 calls.
pub fn start_backends(binary: &Path, core: Option<usize>) -> anyhow::Result<Backends> {
    let base_port = free_base_port()?;
    let services = SampleBackends::start_pinned(binary, base_port, true, core)?;
    services.set_faults(SERVICE, &format!(r#"{{"latency_ms":{LATENCY_MS}}}"#))?;
    let setup = BackendSetup {
        backend: BACKEND,
        service: SERVICE,
        url: services.url(SERVICE),
        base_port,
        latency_ms: LATENCY_MS,
        core,
    };
    Ok(Backends { services, setup })
}

impl Backends {
    /// The host's `--backend` flags: W3's backend, by the name the adapter calls.
    pub fn host_flags(&self) -> Vec<(String, String)> {
        vec![(BACKEND.to_owned(), self.setup.url.clone())]
    }

    pub fn stop(self) {
        self.services.stop();
    }
}

/// Checks the answer, warms up, then measures [`PATH`] `plan.runs` times with
/// [`CONNECTIONS`] connections.
pub fn measure(
    wrk: &Wrk,
    server: &Server,
    plan: &Plan,
    backends: &Backends,
) -> anyhow::Result<FanOut> {
    check_answer(server, PATH)?;
    check_answer(server, STATIC_PATH)?;
    let wrk = wrk.with_connections(CONNECTIONS);
    let before = backend_totals(server)?;
    let warm_up = |path: &str| {
        eprintln!("{ID} warm-up {path} ({} s)", plan.warmup_secs);
        wrk.run(&server.url(path), plan.warmup_secs)
    };
    let warmup = warm_up(PATH)?;
    let static_warmup = warm_up(STATIC_PATH)?;
    let [runs, static_runs] = workloads::alternate(
        &wrk,
        plan,
        ID,
        &[
            Contender::on(server, PATH, PATH),
            Contender::on(server, STATIC_PATH, STATIC_PATH),
        ],
    )?;
    let after = backend_totals(server)?;
    let alone_url = format!("{}/ping?call=0", backends.setup.url);
    eprintln!("{ID} backend alone {alone_url} ({} s)", plan.run_secs);
    let backend_alone = wrk
        .with_connections(CONNECTIONS * CALLS as u32)
        .run(&alone_url, plan.run_secs)?;
    let adapter = workloads::side(PATH, warmup, runs);
    let baseline = workloads::side(STATIC_PATH, static_warmup, static_runs);
    let ideal_us = (LATENCY_MS * 1000) as f64;
    let backend_calls = after.since(&before);
    Ok(FanOut {
        id: ID,
        name: NAME,
        compared_with: "the same calls compiled into the host, and the ideal: one backend round trip, as the 10 calls run in parallel",
        runs: plan.runs,
        run_secs: plan.run_secs,
        warmup_secs: plan.warmup_secs,
        connections: CONNECTIONS,
        calls_per_request: CALLS,
        backend: backends.setup.clone(),
        ideal_us,
        sequential_us: ideal_us * CALLS as f64,
        ratios: Ratios {
            p50_over_ideal: adapter.median.p50_us / ideal_us,
            p99_over_ideal: adapter.median.p99_us / ideal_us,
        },
        static_ratios: workloads::Ratios::of(&adapter.median, &baseline.median),
        adapter,
        baseline,
        backend_alone,
        backend_calls,
    })
}

/// One request must answer 200 with every call successful, or W3 would measure failures.
fn check_answer(server: &Server, path: &str) -> anyhow::Result<()> {
    let response = http::get(server.listen, path, REQUEST_TIMEOUT)
        .with_context(|| format!("GET {path} failed"))?;
    let body = String::from_utf8_lossy(&response.body);
    ensure!(
        response.status == 200 && body == EXPECTED_BODY,
        "GET {path} answered {} `{body}` instead of 200 `{EXPECTED_BODY}`: the host cannot reach backend `{BACKEND}` ({SERVICE} of the sample backends); see the host log",
        response.status
    );
    Ok(())
}

/// The host's totals for W3's backend, from `GET /admin/backends`.
fn backend_totals(server: &Server) -> anyhow::Result<BackendCalls> {
    let view = server.admin_backends()?;
    let totals = view["backends"]
        .as_array()
        .and_then(|backends| backends.iter().find(|backend| backend["name"] == BACKEND))
        .map(|backend| &backend["totals"])
        .with_context(|| format!("GET /admin/backends lists no backend `{BACKEND}`"))?;
    let count = |field: &str| {
        totals[field].as_u64().with_context(|| {
            format!("GET /admin/backends has no count `totals.{field}` for `{BACKEND}`")
        })
    };
    let (calls, ok) = (count("calls")?, count("ok")?);
    let failed_by_kind = ERROR_KINDS
        .iter()
        .map(|kind| Ok(((*kind).to_owned(), count(kind)?)))
        .collect::<anyhow::Result<_>>()?;
    Ok(BackendCalls {
        calls,
        ok,
        failed: calls.saturating_sub(ok),
        failed_by_kind,
    })
}

/// The first base port from [`FIRST_BASE_PORT`] whose control and service ports are all free
/// on 127.0.0.1 (a moment ago).
pub(super) fn free_base_port() -> anyhow::Result<u16> {
    let ports = sample_backends::SERVICES.len() as u16 + 1;
    (FIRST_BASE_PORT..FIRST_BASE_PORT + BASE_PORTS_TRIED)
        .find(|&base| {
            (base..base + ports).all(|port| TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok())
        })
        .with_context(|| {
            format!(
                "no {ports} consecutive free ports on 127.0.0.1 from {FIRST_BASE_PORT} to {}",
                FIRST_BASE_PORT + BASE_PORTS_TRIED + ports - 2
            )
        })
}
