//! The benchmark's findings: one document, written as JSON to `target/bench/latest.json`
//! and printed as a table (`table.rs`).

mod table;

use std::{fs, path::Path};

use anyhow::Context as _;
use serde::Serialize;

use super::{
    Plan,
    artifacts::Artifacts,
    fanout::FanOut,
    floors::Floors,
    instructions::Instructions,
    module_call::ModuleCall,
    pinning::Pinning,
    profile::Profile,
    recycle::Recycle,
    reload::Reload,
    traffic::Traffic,
    workloads::{Measured, Side},
    wrk::{self, Load},
};

pub use table::print;

/// Everything one `cargo xtask bench` found.
#[derive(Debug, Serialize)]
pub struct Report {
    pub plan: Plan,
    pub started_unix_secs: u64,
    pub finished_unix_secs: u64,
    pub machine: Pinning,
    pub host: HostSetup,
    pub load_generator: LoadGenerator,
    pub workloads: Vec<Entry>,
    /// W2 under a canary and a shadow: the ratios side by side, and what the plans did.
    pub traffic: Traffic,
    /// W1, W2 and W3 against bare hyper: the host's own work per request.
    pub floors: Floors,
    /// W1, W2 and W3 in instructions per request, host against bare hyper (callgrind).
    pub instructions: Instructions,
    pub profile: Profile,
    pub reload: Reload,
    /// R1 again with the deployer under `SCHED_IDLE` (`deployer_idle = true`).
    pub reload_idle: Reload,
    /// W2 while the host recycles; RSS fresh, after swaps, after a recycle.
    pub recycle: Recycle,
    /// W3 while its backend hangs, with the fixed and the adaptive concurrency limit.
    pub chaos: super::chaos::Chaos,
    pub crowd: super::crowd::Crowd,
    pub module_call: ModuleCall,
    /// One line per run with failed requests; the command fails when there is any.
    pub failures: Vec<String>,
}

/// How the host ran.
#[derive(Debug, Serialize)]
pub struct HostSetup {
    pub rust_log: &'static str,
    pub log: String,
    pub artifacts: Artifacts,
}

/// How the load was generated.
#[derive(Debug, Serialize)]
pub struct LoadGenerator {
    pub version: String,
    pub threads: u32,
    pub connections: u32,
    /// The command line of a measured run, with `URL` for the address.
    pub command: String,
}

/// One workload of WORKLOADS.md. Both kinds are `"status": "measured"` in the JSON, as
/// before W3 existed; W3's entry is told apart by its `compared_with`.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Entry {
    /// Adapter against the static handler.
    Measured(Box<Measured>),
    /// Adapter against the same calls compiled into the host and against an ideal (W3).
    #[serde(rename = "measured")]
    FanOut(Box<FanOut>),
}

impl LoadGenerator {
    pub fn new(version: String, command: Vec<String>) -> Self {
        Self {
            version,
            threads: wrk::THREADS,
            connections: wrk::CONNECTIONS,
            command: command.join(" "),
        }
    }
}

impl Entry {
    pub fn id(&self) -> &'static str {
        match self {
            Self::Measured(measured) => measured.id,
            Self::FanOut(fanout) => fanout.id,
        }
    }

    /// The ways the workload was served, each with its name.
    pub fn sides(&self) -> Vec<(&'static str, &Side)> {
        match self {
            Self::Measured(measured) => {
                vec![
                    ("adapter", &measured.adapter),
                    ("static", &measured.baseline),
                ]
            }
            Self::FanOut(fanout) => {
                vec![("adapter", &fanout.adapter), ("static", &fanout.baseline)]
            }
        }
    }
}

impl Report {
    /// Lists every run with failed requests into `failures`, W3's failed backend calls, and
    /// traffic plans that routed nothing.
    pub fn collect_failures(&mut self) {
        let mut failures = Vec::new();
        for entry in &self.workloads {
            let id = entry.id();
            for (name, side) in entry.sides() {
                failures.extend(failed(format!("{id} {name} warm-up"), &side.warmup));
                for (index, run) in side.runs.iter().enumerate() {
                    failures.extend(failed(format!("{id} {name} run {}", index + 1), &run.load));
                }
            }
            if let Entry::FanOut(fanout) = entry {
                failures.extend(failed(format!("{id} backend alone"), &fanout.backend_alone));
                let calls = &fanout.backend_calls;
                if calls.failed > 0 {
                    let kinds: Vec<String> = calls
                        .failed_by_kind
                        .iter()
                        .map(|(kind, count)| format!("{kind} {count}"))
                        .collect();
                    failures.push(format!(
                        "{id}: {} of {} calls to backend `{}` failed ({}; W3 answers 200 all the same, with a lower \"ok\")",
                        calls.failed,
                        calls.calls,
                        fanout.backend.backend,
                        kinds.join(", ")
                    ));
                }
            }
        }
        failures.extend(self.traffic.failures());
        for row in [&self.floors.w1, &self.floors.w2, &self.floors.w3] {
            for (name, side) in [("adapter", &row.adapter), ("bare hyper", &row.bare_hyper)] {
                let what = format!("{} vs bare hyper, {name}", row.id);
                failures.extend(failed(format!("{what} warm-up"), &side.warmup));
                for (index, run) in side.runs.iter().enumerate() {
                    failures.extend(failed(format!("{what} run {}", index + 1), &run.load));
                }
            }
        }
        failures.extend(self.chaos.failures());
        for (name, side) in [
            ("crowded", &self.crowd.crowded),
            ("alone", &self.crowd.alone),
        ] {
            failures.extend(failed(format!("crowd W1 {name} warm-up"), &side.warmup));
            for (index, run) in side.runs.iter().enumerate() {
                failures.extend(failed(
                    format!("crowd W1 {name} run {}", index + 1),
                    &run.load,
                ));
            }
        }
        if let Profile::Recorded {
            adapter, baseline, ..
        } = &self.profile
        {
            failures.extend(failed(
                "profile load on the adapter".to_owned(),
                &adapter.load,
            ));
            failures.extend(failed("profile load on static".to_owned(), &baseline.load));
        }
        for reload in [&self.reload, &self.reload_idle] {
            let deployer = reload.deployer;
            failures.extend(failed(
                format!("R1 ({deployer}) steady state"),
                &reload.steady,
            ));
            failures.extend(failed(
                format!("R1 ({deployer}) during swaps"),
                &reload.during_swaps,
            ));
            if reload.failed.poller_non_200 > 0 {
                failures.push(format!(
                    "R1 ({deployer}) poller: {} non-200 answers to GET /bench/hello during swaps",
                    reload.failed.poller_non_200
                ));
            }
        }
        failures.extend(failed(
            "recycle run during recycles".to_owned(),
            &self.recycle.during_recycles,
        ));
        if self.recycle.failed.recycles_failed > 0 {
            failures.push(format!(
                "recycle run: {} of {} recycles failed; first: {}",
                self.recycle.failed.recycles_failed,
                self.recycle.recycles,
                self.recycle
                    .failed
                    .first_recycle_failure
                    .as_deref()
                    .unwrap_or("-")
            ));
        }
        self.failures = failures;
    }

    /// Writes the report as pretty JSON to `path`.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_string_pretty(self).context("cannot serialize the report")?;
        fs::write(path, json + "\n").with_context(|| format!("cannot write {}", path.display()))
    }
}

/// The line for `load` when it had failed requests.
fn failed(what: String, load: &Load) -> Option<String> {
    let stats = load.stats;
    if stats.failures() == 0 {
        return None;
    }
    let errors = stats.socket_errors;
    Some(format!(
        "{what}: {} non-2xx/3xx answers, socket errors connect {} read {} write {} timeout {} ({})",
        stats.non_2xx_3xx, errors.connect, errors.read, errors.write, errors.timeout, load.command
    ))
}
