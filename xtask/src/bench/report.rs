//! The benchmark's findings: one document, written as JSON to `target/bench/latest.json`
//! and printed as a table (`table.rs`).

mod table;

use std::{fs, path::Path};

use anyhow::Context as _;
use serde::Serialize;

use super::{
    Plan,
    artifacts::Artifacts,
    pinning::Pinning,
    profile::Profile,
    reload::Reload,
    workloads::Measured,
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
    pub profile: Profile,
    pub reload: Reload,
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

/// One workload of WORKLOADS.md.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Entry {
    Measured(Box<Measured>),
    Skipped {
        id: &'static str,
        name: &'static str,
        reason: &'static str,
    },
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

impl Report {
    /// Lists every run with failed requests into `failures`.
    pub fn collect_failures(&mut self) {
        let mut failures = Vec::new();
        let mut check = |what: String, load: &Load| {
            let stats = load.stats;
            if stats.failures() > 0 {
                let errors = stats.socket_errors;
                failures.push(format!(
                    "{what}: {} non-2xx/3xx answers, socket errors connect {} read {} write {} timeout {} ({})",
                    stats.non_2xx_3xx,
                    errors.connect,
                    errors.read,
                    errors.write,
                    errors.timeout,
                    load.command
                ));
            }
        };
        for entry in &self.workloads {
            let Entry::Measured(measured) = entry else {
                continue;
            };
            for (side, name) in [
                (&measured.adapter, "adapter"),
                (&measured.baseline, "static"),
            ] {
                check(format!("{} {name} warm-up", measured.id), &side.warmup);
                for (index, run) in side.runs.iter().enumerate() {
                    check(
                        format!("{} {name} run {}", measured.id, index + 1),
                        &run.load,
                    );
                }
            }
        }
        if let Profile::Recorded {
            adapter, baseline, ..
        } = &self.profile
        {
            check("profile load on the adapter".to_owned(), &adapter.load);
            check("profile load on static".to_owned(), &baseline.load);
        }
        check("R1 steady state".to_owned(), &self.reload.steady);
        check("R1 during swaps".to_owned(), &self.reload.during_swaps);
        if self.reload.failed.poller_non_200 > 0 {
            failures.push(format!(
                "R1 poller: {} non-200 answers to GET /bench/hello during swaps",
                self.reload.failed.poller_non_200
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
