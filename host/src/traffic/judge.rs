//! The canary judge, a pure function of two sides' samples over the same interval: the
//! canary fails on a 5xx rate above the baseline's plus a margin, or on latencies that are
//! both significantly larger (one-sided Mann-Whitney) and larger by more than a margin at
//! the median; it cannot judge below a minimum of requests on either side.

use serde::{Deserialize, Serialize};

use super::{
    mann_whitney::{self, MannWhitney},
    samples::ArmSummary,
};

/// What a canary is held to; set per plan.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Criteria {
    /// Requests each side needs in an interval before it is judged.
    pub min_requests: u64,
    /// The canary fails when its 5xx rate exceeds the baseline's by more than this
    /// (a fraction: 0.05 is five points).
    pub error_margin: f64,
    /// Significance level of the latency test.
    pub alpha: f64,
    /// A significant slowdown fails only when the canary's median is also above the
    /// baseline's by more than this fraction: with thousands of samples, a 1% difference is
    /// significant and harmless.
    pub latency_margin: f64,
}

impl Default for Criteria {
    fn default() -> Self {
        Self {
            min_requests: 100,
            error_margin: 0.05,
            alpha: 0.01,
            latency_margin: 0.2,
        }
    }
}

/// What the judge concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    /// Too few requests to say.
    Inconclusive,
}

/// A judgement with its numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    pub outcome: Outcome,
    pub reason: String,
    pub baseline: ArmStats,
    pub canary: ArmStats,
    /// The latency test of the canary against the baseline (absent with an empty side).
    pub mann_whitney: Option<MannWhitney>,
}

/// One side of a judged interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmStats {
    pub requests: u64,
    pub errors: u64,
    /// 5xx answers over requests; absent without requests.
    pub error_rate: Option<f64>,
    /// Median of the latency sample, in ms; absent without samples.
    pub median_ms: Option<f64>,
    /// Latencies in the sample.
    pub samples: usize,
}

/// Judges the canary against the baseline over one interval.
pub fn judge(baseline: &ArmSummary, canary: &ArmSummary, criteria: &Criteria) -> Judgement {
    let (b, c) = (ArmStats::of(baseline), ArmStats::of(canary));
    let test = mann_whitney::greater(&canary.latencies_us, &baseline.latencies_us);
    let verdict = |outcome, reason: String| Judgement {
        outcome,
        reason,
        baseline: b.clone(),
        canary: c.clone(),
        mann_whitney: test,
    };
    let min = criteria.min_requests.max(1);
    if baseline.requests < min || canary.requests < min {
        return verdict(
            Outcome::Inconclusive,
            format!(
                "too few requests to judge: baseline {}, canary {}, {min} needed on each side",
                baseline.requests, canary.requests
            ),
        );
    }
    let (b_rate, c_rate) = (rate(baseline), rate(canary));
    if c_rate > b_rate + criteria.error_margin {
        return verdict(
            Outcome::Fail,
            format!(
                "5xx rate regressed: canary {:.1}% ({} of {}) > baseline {:.1}% ({} of {}) + margin {:.1} points",
                c_rate * 100.0,
                canary.errors,
                canary.requests,
                b_rate * 100.0,
                baseline.errors,
                baseline.requests,
                criteria.error_margin * 100.0
            ),
        );
    }
    let medians = (b.median_ms.unwrap_or(0.0), c.median_ms.unwrap_or(0.0));
    if let Some(test) = test
        && test.p < criteria.alpha
        && medians.1 > medians.0 * (1.0 + criteria.latency_margin)
    {
        return verdict(
            Outcome::Fail,
            format!(
                "latency regressed: canary median {:.2} ms vs baseline {:.2} ms (over the {:.0}% margin); Mann-Whitney U = {:.1}, z = {:.2}, p = {:.2e} < alpha {}",
                medians.1,
                medians.0,
                criteria.latency_margin * 100.0,
                test.u,
                test.z,
                test.p,
                criteria.alpha
            ),
        );
    }
    let latency = match test {
        Some(test) => format!(
            "medians {:.2} ms (canary) vs {:.2} ms (baseline), p = {:.3}",
            medians.1, medians.0, test.p
        ),
        None => "no latency samples".to_owned(),
    };
    verdict(
        Outcome::Pass,
        format!(
            "healthy: 5xx {:.1}% (canary) vs {:.1}% (baseline); {latency}",
            c_rate * 100.0,
            b_rate * 100.0
        ),
    )
}

fn rate(side: &ArmSummary) -> f64 {
    if side.requests == 0 {
        0.0
    } else {
        side.errors as f64 / side.requests as f64
    }
}

impl ArmStats {
    fn of(side: &ArmSummary) -> Self {
        Self {
            requests: side.requests,
            errors: side.errors,
            error_rate: (side.requests > 0).then(|| rate(side)),
            median_ms: median(&side.latencies_us).map(|us| us / 1000.0),
            samples: side.latencies_us.len(),
        }
    }
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[u32]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(f64::from(sorted[n / 2])),
        _ => Some((f64::from(sorted[n / 2 - 1]) + f64::from(sorted[n / 2])) / 2.0),
    }
}

#[cfg(test)]
mod tests;
