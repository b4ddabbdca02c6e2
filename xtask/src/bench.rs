//! `cargo xtask bench`: the benchmark workloads (README, "Benchmarks") against a release host
//! on 127.0.0.1. W1 and W2 through the `bench` adapter against the same code compiled into the
//! host (`/static-bench/`), a profile of W1, W3 (fan-out: ten parallel calls to a sample
//! backend answering after 5 ms, against that 5 ms ideal, on the same host), W2 under a
//! 50/50 canary and under a 10 % shadow (each against the static handler, on a host holding
//! both adapter builds), R1 (reload under load), the recycle run (W2 at full load while the
//! host hands its sockets to a fresh process again and again; RSS fresh, after swaps and after
//! a recycle), W1/W2/W3 against bare hyper (`floors.rs`), the chaos run (W3 while its
//! backend hangs, fixed against adaptive concurrency), W1/W2/W3 in instructions per
//! request against bare hyper (`instructions.rs`, callgrind), the crowd run (W1 among a thousand
//! adapters of 20 routes against W1 alone, and the next adapter's publication; fifty with
//! `--quick`), and the cost of a shared-module call
//! (the host's `module_call` benchmark, not with `--quick`). Prints a table and writes
//! `target/bench/latest.json`; fails when any request
//! or W3 backend call failed, a recycle failed, or a canary or shadow routed nothing, never on
//! timing.
//!
//! Placement on two cores or more: the hosts and the module-call benchmark on core 0; wrk,
//! perf, xtask and the sample backends on core 1.
//!
//! `target/bench/` holds `latest.json`, `host.log` (both host instances, `RUST_LOG=warn`),
//! the `w1-*.perf.{data,txt}` profiles, and `work/`: the adapter builds and plugins
//! directories of the last run, wiped at every start. The hosts make their private copies
//! directories under `work/copies`, `work/traffic-copies`, `work/r1-copies`, `work/r1-idle-copies`, `work/recycle-copies`, `work/chaos-copies` and `work/crowd-*copies`; the W1/W2/W3 host runs with
//! `--keep-copies` when it is profiled, so perf resolves the adapter's symbols through the
//! copy's name; each host removes its copies when it stops.

mod artifacts;
mod chaos;
mod crowd;
mod fanout;
mod floors;
mod instructions;
mod module_call;
mod pinning;
mod procfs;
mod profile;
mod recycle;
mod reload;
mod report;
mod server;
mod stats;
mod tools;
mod traffic;
mod workloads;
mod wrk;

use std::{
    fs,
    path::Path,
    process::ExitCode,
    time::{SystemTime, UNIX_EPOCH},
};

use anyhow::Context as _;
use serde::Serialize;

use crate::{build_plugin::relative_to_cwd, workspace::Workspace};
use artifacts::BENCH_PACKAGE;
use module_call::ModuleCall;
use pinning::Pinning;
use profile::Profile;
use recycle::RecycleConfig;
use reload::ReloadConfig;
use report::{Entry, HostSetup, LoadGenerator, Report};
use server::{Instance, Launcher};
use traffic::TrafficConfig;
use workloads::{W1, W2};
use wrk::Wrk;

/// Run the benchmark workloads against a release build and report against the static baseline.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One short run of each workload, no profile and no shared-module call, to check that
    /// the benchmark works (figures too rough to compare).
    #[arg(long)]
    quick: bool,
}

/// How much to measure.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub mode: &'static str,
    /// Measured runs per path of W1 and W2: each median is of this many runs.
    pub runs: usize,
    pub run_secs: u64,
    /// One run of each path before the measured ones.
    pub warmup_secs: u64,
    /// Length of R1's steady-state run, and of its run with swaps.
    pub reload_secs: u64,
    pub swaps: usize,
    /// Recycles of the host under load in the recycle run.
    pub recycles: usize,
    /// Length of each W1 perf recording; `None` skips profiling.
    pub profile_secs: Option<u64>,
    /// Adapters loaded beside `bench` in the crowd run.
    pub crowd_adapters: usize,
}

const FULL: Plan = Plan {
    mode: "full",
    runs: 5,
    run_secs: 5,
    warmup_secs: 1,
    // 5 swaps a second, the rate the reload goal is set at.
    reload_secs: 20,
    swaps: 100,
    recycles: 20,
    profile_secs: Some(3),
    crowd_adapters: 1000,
};

const QUICK: Plan = Plan {
    mode: "quick",
    runs: 1,
    run_secs: 2,
    warmup_secs: 1,
    reload_secs: 4,
    swaps: 20,
    recycles: 3,
    profile_secs: None,
    crowd_adapters: 50,
};

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let plan = if args.quick { QUICK } else { FULL };
    let started = unix_secs();
    let workspace = Workspace::load()?;
    let out_dir = workspace.target_dir.join("bench");
    let work_dir = out_dir.join("work");
    if work_dir.exists() {
        fs::remove_dir_all(&work_dir)
            .with_context(|| format!("cannot remove {}", work_dir.display()))?;
    }
    fs::create_dir_all(&work_dir)
        .with_context(|| format!("cannot create {}", work_dir.display()))?;
    tools::ensure_wrk()?;
    let wrk_version = tools::wrk_version()?;
    let builds_dir = work_dir.join("builds");
    let artifacts = artifacts::build(&workspace, &builds_dir)?;
    let floor_builds = floors::build(&workspace)?;
    let crowd_build = crowd::build(&workspace, &builds_dir)?;
    let module_call_build = if args.quick {
        None
    } else {
        Some(module_call::build(&workspace, &builds_dir)?)
    };

    let pinning = Pinning::decide();
    pinning.apply_to_self()?;
    eprintln!("pinning: {}", pinning.description);
    let wrk = Wrk::new(pinning.load_core);
    let log = out_dir.join("host.log");
    fs::write(&log, "").with_context(|| format!("cannot create {}", log.display()))?;
    let launcher = Launcher {
        frontdoor: &artifacts.frontdoor,
        workdir: &work_dir,
        log: &log,
        core: pinning.host_core,
    };

    let plugins_dir = work_dir.join("plugins");
    fs::create_dir_all(&plugins_dir)
        .with_context(|| format!("cannot create {}", plugins_dir.display()))?;
    let adapter_file = format!("{BENCH_PACKAGE}-{}.so", artifacts.base.version);
    let installed = plugins_dir.join(&adapter_file);
    fs::copy(&artifacts.base.library, &installed)
        .with_context(|| format!("cannot copy the bench adapter to {}", installed.display()))?;
    // Dropping them on an error stops them.
    let backends = fanout::start_backends(&artifacts.sample_backends, pinning.load_core)?;
    let server = launcher.start(&Instance {
        label: "W1/W2/W3 host",
        plugins_dir: &plugins_dir,
        copies_dir: &work_dir.join("copies"),
        // The profile resolves the adapter's symbols through its file.
        keep_copies: plan.profile_secs.is_some(),
        retired_limit: None,
        backends: &backends.host_flags(),
    })?;
    server.wait_for_adapter(
        W1.adapter,
        &format!("{BENCH_PACKAGE}@{}", artifacts.base.version),
    )?;
    let w1 = workloads::measure(&wrk, &server, &plan, &W1)?;
    let profile = match plan.profile_secs {
        Some(secs) => profile::record(&wrk, &server, &out_dir, secs)?,
        None => Profile::Skipped {
            reason: "--quick".to_owned(),
        },
    };
    if let Profile::Skipped { reason } = &profile {
        eprintln!("profile skipped: {reason}");
    }
    let w2 = workloads::measure(&wrk, &server, &plan, &W2)?;
    let w3 = fanout::measure(&wrk, &server, &plan, &backends)?;
    let floors = floors::measure(&floor_builds, &wrk, &server, &plan, &backends.setup.url)?;
    server.stop()?;
    // Counts do not depend on the run's length: the same in both plans (seconds).
    let instructions = instructions::run(&instructions::InstructionsConfig {
        frontdoor: &artifacts.frontdoor,
        adapter: &artifacts.base.library,
        adapter_file: &adapter_file,
        floors: &floor_builds,
        work_dir: &work_dir,
        backend_url: &backends.setup.url,
        core: pinning.host_core,
    })?;
    backends.stop();
    let chaos = chaos::run(&chaos::ChaosConfig {
        launcher: &launcher,
        plan: &plan,
        work_dir: &work_dir,
        plugins_dir: &plugins_dir,
        sample_backends: &artifacts.sample_backends,
        backends_core: pinning.load_core,
    })?;

    let traffic = traffic::run(&TrafficConfig {
        launcher: &launcher,
        artifacts: &artifacts,
        wrk: &wrk,
        plan: &plan,
        work_dir: &work_dir,
    })?;
    let (traffic, [w2_canary, w2_shadow]) = traffic.into_report(&w2);

    let r1 = |deployer_idle| {
        reload::run(&ReloadConfig {
            launcher: &launcher,
            artifacts: &artifacts,
            wrk: &wrk,
            plan: &plan,
            work_dir: &work_dir,
            deployer_idle,
        })
    };
    let reload = r1(false)?;
    let reload_idle = r1(true)?;
    let recycle = recycle::run(&RecycleConfig {
        launcher: &launcher,
        artifacts: &artifacts,
        wrk: &wrk,
        plan: &plan,
        work_dir: &work_dir,
    })?;
    let crowd = crowd::run(
        &crowd::CrowdConfig {
            launcher: &launcher,
            artifacts: &artifacts,
            wrk: &wrk,
            plan: &plan,
            work_dir: &work_dir,
        },
        &crowd_build,
    )?;
    remove_copies(&work_dir);
    // Last, when no host is left on its core.
    let module_call = match &module_call_build {
        Some(built) => ModuleCall::Measured(module_call::run(built, pinning.host_core)?),
        None => ModuleCall::Skipped {
            reason: "--quick".to_owned(),
        },
    };

    let mut report = Report {
        started_unix_secs: started,
        finished_unix_secs: unix_secs(),
        machine: pinning,
        host: HostSetup {
            rust_log: server::RUST_LOG,
            log: log.display().to_string(),
            artifacts,
        },
        load_generator: LoadGenerator::new(wrk_version, wrk.command_line("URL", plan.run_secs)),
        workloads: vec![
            Entry::Measured(Box::new(w1)),
            Entry::Measured(Box::new(w2)),
            Entry::Measured(Box::new(w2_canary)),
            Entry::Measured(Box::new(w2_shadow)),
            Entry::FanOut(Box::new(w3)),
        ],
        traffic,
        floors,
        instructions,
        profile,
        reload,
        reload_idle,
        recycle,
        chaos,
        crowd,
        module_call,
        plan,
        failures: Vec::new(),
    };
    report.collect_failures();
    let json = out_dir.join("latest.json");
    report.write(&json)?;
    report::print(&report);
    println!("\njson: {}", relative_to_cwd(&json).display());
    if report.failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("\nxtask: requests failed:");
    for failure in &report.failures {
        eprintln!("  {failure}");
    }
    Ok(ExitCode::FAILURE)
}

/// The parents of the hosts' copies directories; a host killed before its shutdown leaves
/// its copies behind. Best effort.
fn remove_copies(work_dir: &Path) {
    for dir in [
        "copies",
        "traffic-copies",
        "r1-copies",
        "r1-idle-copies",
        "recycle-copies",
        "chaos-copies",
        "crowd-copies",
        "crowd-alone-copies",
        // A thousand stamped adapters: most of the run's disk.
        "crowd-plugins",
    ] {
        let _ = fs::remove_dir_all(work_dir.join(dir));
    }
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}
