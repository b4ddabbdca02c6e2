//! W2 under the host's traffic plans: a 50/50 canary between the two builds of the bench
//! adapter, then a 10 % shadow to the build that is not serving, each measured exactly as
//! plain W2 is (adapter against the static handler, alternating, in the same run), on a host
//! instance of its own whose plugins directory holds both builds. After each, the admin API
//! tells whether the plan did its work (`plans.rs`); a plan that routed nothing is a failure.
//!
//! The canary splits at random per request: wrk sends no device key, and a fixed one would
//! put every request on one side. That draw is the cost of a canary for devices without a
//! key; a sticky key costs one hash of the header instead.
//!
//! Its own instance rather than the W1/W2 host: loading the second build makes it the
//! default, and W1/W2 and their profile ran on a host serving one version with no plan.

mod plans;

use std::{fs, path::Path};

use anyhow::Context as _;
use serde::Serialize;

use super::{
    Plan,
    artifacts::{Artifacts, BENCH_PACKAGE, BenchBuild},
    server::{Instance, Launcher},
    workloads::{self, Measured, W2, Workload},
    wrk::Wrk,
};

pub use plans::{CanaryCheck, ShadowCheck};

/// W2 with a canary plan running.
pub const W2_CANARY: Workload = Workload {
    id: "W2+canary",
    name: "home, 50/50 canary",
    adapter: W2.adapter,
    baseline: W2.baseline,
};

/// W2 with a shadow mirroring a share of it.
pub const W2_SHADOW: Workload = Workload {
    id: "W2+shadow",
    name: "home, 10 % shadow",
    adapter: W2.adapter,
    baseline: W2.baseline,
};

/// Everything the traffic runs need.
#[derive(Debug)]
pub struct TrafficConfig<'a> {
    pub launcher: &'a Launcher<'a>,
    pub artifacts: &'a Artifacts,
    pub wrk: &'a Wrk,
    pub plan: &'a Plan,
    /// Where its plugins directory and the host's copies go.
    pub work_dir: &'a Path,
}

/// The two measurements, and what the plans did during them.
#[derive(Debug)]
pub struct TrafficRuns {
    pub canary: Measured,
    pub shadow: Measured,
    pub checks: Checks,
}

/// The traffic runs' part of the report, beside their entries among the workloads.
#[derive(Debug, Serialize)]
pub struct Traffic {
    /// Adapter over static for plain W2 (measured on the W1/W2 host), W2+canary and
    /// W2+shadow, side by side.
    pub ratios: Vec<RatioRow>,
    #[serde(flatten)]
    pub checks: Checks,
}

/// One workload's ratios, adapter over static, of the medians.
#[derive(Debug, Serialize)]
pub struct RatioRow {
    pub workload: &'static str,
    pub requests_per_sec: f64,
    pub p99: f64,
    pub cpu_per_request: f64,
}

/// Where the plans ran and what they did.
#[derive(Debug, Serialize)]
pub struct Checks {
    pub instance: String,
    /// The highest build: the default, and the canary.
    pub default_version: String,
    /// The build loaded beside it: the canary's baseline and the shadow's target.
    pub other_version: String,
    pub canary: CanaryCheck,
    pub shadow: ShadowCheck,
}

pub fn run(config: &TrafficConfig<'_>) -> anyhow::Result<TrafficRuns> {
    let TrafficConfig {
        launcher,
        artifacts,
        wrk,
        plan,
        work_dir,
    } = *config;
    let plugins_dir = work_dir.join("traffic-plugins");
    fs::create_dir_all(&plugins_dir)
        .with_context(|| format!("cannot create {}", plugins_dir.display()))?;
    // The alternate build is one patch higher, so it is the default.
    let (other, default) = (&artifacts.base, &artifacts.alternate);
    for build in [other, default] {
        install(build, &plugins_dir)?;
    }
    let server = launcher.start(&Instance {
        label: "traffic host",
        plugins_dir: &plugins_dir,
        copies_dir: &work_dir.join("traffic-copies"),
        keep_copies: false,
        retired_limit: None,
        backends: &[],
    })?;
    // Both files are loaded before the host reports healthy; an unloaded baseline would be
    // refused by the canary's POST with the loaded versions.
    server.wait_for_adapter(W2.adapter, &format!("{BENCH_PACKAGE}@{}", default.version))?;

    let posted = plans::start_canary(&server, &default.version, &other.version)?;
    eprintln!("W2+canary: {posted}; split {}", plans::SPLIT);
    let canary = workloads::measure(wrk, &server, plan, &W2_CANARY)?;
    let canary_check = plans::finish_canary(&server, posted)?;

    let posted = plans::start_shadow(&server, &other.version)?;
    eprintln!("W2+shadow: {posted}");
    let shadow = workloads::measure(wrk, &server, plan, &W2_SHADOW)?;
    let shadow_check = plans::finish_shadow(&server, posted)?;

    let instance = format!(
        "a third host instance (pid {}, pinned like the first) whose plugins directory holds both builds",
        server.pid()
    );
    server.stop()?;
    Ok(TrafficRuns {
        canary,
        shadow,
        checks: Checks {
            instance,
            default_version: default.version.to_string(),
            other_version: other.version.to_string(),
            canary: canary_check,
            shadow: shadow_check,
        },
    })
}

impl TrafficRuns {
    /// The report's part, with `plain` (W2 on the W1/W2 host) beside the two runs, and the
    /// two runs as workload entries.
    pub fn into_report(self, plain: &Measured) -> (Traffic, [Measured; 2]) {
        let ratios = [plain, &self.canary, &self.shadow]
            .map(|measured| RatioRow {
                workload: measured.id,
                requests_per_sec: measured.ratios.requests_per_sec,
                p99: measured.ratios.p99,
                cpu_per_request: measured.ratios.cpu_per_request,
            })
            .into();
        let traffic = Traffic {
            ratios,
            checks: self.checks,
        };
        (traffic, [self.canary, self.shadow])
    }
}

impl Traffic {
    /// Why the traffic runs did not measure what they are named after, if they did not.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = self.checks.canary.failures();
        failures.extend(self.checks.shadow.failures());
        failures
    }
}

fn install(build: &BenchBuild, plugins_dir: &Path) -> anyhow::Result<()> {
    let installed = plugins_dir.join(format!("{BENCH_PACKAGE}-{}.so", build.version));
    fs::copy(&build.library, &installed)
        .map(drop)
        .with_context(|| {
            format!(
                "cannot copy {} to {}",
                build.library.display(),
                installed.display()
            )
        })
}
