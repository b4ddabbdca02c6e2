//! Which CPU the host runs on and which the load generator runs on: apart when the machine
//! has two cores or more, so the load generator does not steal the server's CPU.

use std::{
    process::{self, Command, Stdio},
    thread,
};

use anyhow::{Context as _, ensure};
use serde::Serialize;

use crate::system_tools;

/// The placement of the benchmark's processes.
#[derive(Debug, Clone, Serialize)]
pub struct Pinning {
    /// `std::thread::available_parallelism`.
    pub cores: usize,
    /// The hosts, and then the shared-module call benchmark, run under `taskset -c HOST_CORE`.
    pub host_core: Option<usize>,
    /// wrk, perf, xtask itself (its reload poller) and the sample backends (W3) run under
    /// `taskset -c LOAD_CORE`.
    pub load_core: Option<usize>,
    /// The above in words, as printed.
    pub description: String,
}

impl Pinning {
    /// Host on core 0 and load on core 1 when there are two cores and taskset; else unpinned.
    pub fn decide() -> Self {
        let cores = thread::available_parallelism().map_or(1, usize::from);
        let (host_core, load_core, description) = if cores < 2 {
            (None, None, format!("not pinned: only {cores} core"))
        } else if system_tools::which("taskset").is_none() {
            (
                None,
                None,
                "not pinned: taskset is not installed".to_owned(),
            )
        } else {
            (
                Some(0),
                Some(1),
                "host and module-call benchmark on core 0 (taskset -c 0); wrk, perf, xtask's reload poller and the sample backends on core 1 (taskset -c 1)"
                    .to_owned(),
            )
        };
        Self {
            cores,
            host_core,
            load_core,
            description,
        }
    }

    /// Moves this process (every thread, and the children it starts from now on) to the
    /// load core. Call it after the builds, which want every core.
    pub fn apply_to_self(&self) -> anyhow::Result<()> {
        let Some(core) = self.load_core else {
            return Ok(());
        };
        let status = Command::new("taskset")
            .args([
                "-a",
                "-p",
                "-c",
                &core.to_string(),
                &process::id().to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .context("cannot run taskset to pin xtask")?;
        ensure!(
            status.success(),
            "taskset could not pin xtask to core {core} ({status})"
        );
        Ok(())
    }
}
