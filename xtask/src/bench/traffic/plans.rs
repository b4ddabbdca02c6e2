//! The traffic plans W2 runs under, set and read through the admin API: what is posted, and
//! what the host says each plan did, checked so that a plan that routed nothing (and so
//! made the run a plain W2) is a failure instead of a figure.

use anyhow::Context as _;
use cargo_metadata::semver::Version;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::super::{artifacts::BENCH_PACKAGE, server::Server};

/// The canary's share of default traffic, in percent.
pub const CANARY_WEIGHT: f64 = 50.0;
/// The share of GETs mirrored to the shadow, in percent.
pub const SHADOW_SHARE: f64 = 10.0;
/// An hour: the judge's first interval ends long after the runs, so it never closes an
/// interval, steps or promotes during a measurement (its verdicts are checked to be none).
const JUDGE_INTERVAL_MS: u64 = 3_600_000;
/// How the canary splits wrk's requests, in words for the report.
pub const SPLIT: &str = "random per request: wrk sends no x-device-id header nor device cookie (a fixed one would send every request to one side)";

/// What the canary plan did over its warm-up and runs, from `GET .../canary`.
#[derive(Debug, Serialize)]
pub struct CanaryCheck {
    /// The body of `POST /admin/adapters/bench/canary`.
    pub posted: Value,
    pub split: &'static str,
    /// `running` unless the judge or something else ended the plan.
    pub phase: String,
    pub weight: f64,
    /// Verdicts made: none while the plan is in its first interval.
    pub verdicts: usize,
    /// Requests each side took since the plan started: `open_interval`, as no interval closed.
    pub baseline_requests: u64,
    pub canary_requests: u64,
    /// canary / (baseline + canary); `None` when neither took any.
    pub canary_share: Option<f64>,
}

/// What the shadow did over its warm-up and runs, from `GET .../shadow`.
#[derive(Debug, Serialize)]
pub struct ShadowCheck {
    /// The body of `POST /admin/adapters/bench/shadow`.
    pub posted: Value,
    #[serde(flatten)]
    pub counts: ShadowCounts,
}

/// The shadow report's counters.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ShadowCounts {
    /// Requests the share chose to mirror.
    pub chosen: u64,
    /// Chosen but not mirrored: every shadow slot was taken.
    pub skipped_busy: u64,
    pub timed_out: u64,
    pub compared: u64,
    pub matched: u64,
    pub mismatched: u64,
}

/// The parts of `GET .../canary` checked here; the rest is ignored.
#[derive(Debug, Deserialize)]
struct CanaryView {
    phase: String,
    weight: f64,
    verdicts: Vec<Value>,
    open_interval: OpenInterval,
}

#[derive(Debug, Deserialize)]
struct OpenInterval {
    baseline_requests: u64,
    canary_requests: u64,
}

#[derive(Debug, Deserialize)]
struct ShadowView {
    report: ShadowCounts,
}

/// Starts a [`CANARY_WEIGHT`] canary of `canary` against `baseline`; returns what was posted.
pub fn start_canary(
    server: &Server,
    canary: &Version,
    baseline: &Version,
) -> anyhow::Result<Value> {
    let body = json!({
        "canary": canary.to_string(),
        "baseline": baseline.to_string(),
        "weight": CANARY_WEIGHT,
        "interval_ms": JUDGE_INTERVAL_MS,
    });
    server.admin("POST", &endpoint("canary"), Some(&body.to_string()))?;
    Ok(body)
}

/// Reads what the canary did, then deletes the plan so default traffic goes to the default.
pub fn finish_canary(server: &Server, posted: Value) -> anyhow::Result<CanaryCheck> {
    let target = endpoint("canary");
    let view: CanaryView = serde_json::from_value(server.admin("GET", &target, None)?)
        .with_context(|| format!("unexpected GET {target}"))?;
    server.admin("DELETE", &target, None)?;
    let OpenInterval {
        baseline_requests,
        canary_requests,
    } = view.open_interval;
    let both = baseline_requests + canary_requests;
    Ok(CanaryCheck {
        posted,
        split: SPLIT,
        phase: view.phase,
        weight: view.weight,
        verdicts: view.verdicts.len(),
        baseline_requests,
        canary_requests,
        // Precision loss above 2^53 requests does not matter.
        canary_share: (both > 0).then(|| canary_requests as f64 / both as f64),
    })
}

/// Mirrors [`SHADOW_SHARE`] of the adapter's GETs to `target`; returns what was posted.
pub fn start_shadow(server: &Server, target: &Version) -> anyhow::Result<Value> {
    let body = json!({ "target": target.to_string(), "share": SHADOW_SHARE });
    server.admin("POST", &endpoint("shadow"), Some(&body.to_string()))?;
    Ok(body)
}

/// Reads the shadow's report, then stops the shadow.
pub fn finish_shadow(server: &Server, posted: Value) -> anyhow::Result<ShadowCheck> {
    let target = endpoint("shadow");
    let view: ShadowView = serde_json::from_value(server.admin("GET", &target, None)?)
        .with_context(|| format!("unexpected GET {target}"))?;
    server.admin("DELETE", &target, None)?;
    Ok(ShadowCheck {
        posted,
        counts: view.report,
    })
}

impl CanaryCheck {
    /// Why the canary runs did not measure a canary, if they did not.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if self.baseline_requests == 0 || self.canary_requests == 0 {
            failures.push(format!(
                "W2+canary: the split did not happen: baseline took {} requests, canary {}",
                self.baseline_requests, self.canary_requests
            ));
        }
        if self.phase != "running" || self.verdicts > 0 {
            failures.push(format!(
                "W2+canary: the plan changed during the measurement: phase {}, weight {}, {} verdict(s)",
                self.phase, self.weight, self.verdicts
            ));
        }
        failures
    }
}

impl ShadowCheck {
    /// Why the shadow runs did not measure a shadow, if they did not. Both builds answer W2
    /// alike, so a mismatch is a broken comparison or build, not a finding.
    pub fn failures(&self) -> Vec<String> {
        let counts = self.counts;
        let mut failures = Vec::new();
        if counts.compared == 0 {
            failures.push(format!(
                "W2+shadow: no request was compared ({} chosen, {} skipped busy, {} timed out)",
                counts.chosen, counts.skipped_busy, counts.timed_out
            ));
        }
        if counts.mismatched > 0 {
            failures.push(format!(
                "W2+shadow: {} of {} compared answers differ between two builds of the same code",
                counts.mismatched, counts.compared
            ));
        }
        failures
    }
}

fn endpoint(kind: &str) -> String {
    format!("/admin/adapters/{BENCH_PACKAGE}/{kind}")
}
