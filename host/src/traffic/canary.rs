//! A canary plan's lifecycle: its settings (checked), its phase and current weight, and what
//! each verdict does to it — a pass steps the weight up (and the last step promotes), a
//! fail sets the weight to 0; every verdict is kept (the last N) with its numbers.

use serde::{Deserialize, Serialize};

use super::{
    error::TrafficError,
    judge::{Criteria, Judgement, Outcome},
    sticky::SCALE,
};

/// What an operator asks for; versions are kept as text so the state round-trips as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanarySettings {
    pub canary: String,
    pub baseline: String,
    /// The first weight of the canary, in percent of default traffic.
    pub weight: f64,
    /// The weights a passing verdict steps through, rising; reaching 100 (or passing at the
    /// last step) promotes: at 100% there is no baseline traffic left to compare with.
    pub steps: Vec<f64>,
    /// How often the judge closes an interval and judges it.
    pub interval_ms: u64,
    pub criteria: Criteria,
}

/// Where a plan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Splitting traffic and judging every interval.
    Running,
    /// The judge failed the canary: weight 0, every default request to the baseline.
    RolledBack,
    /// An operator aborted it: weight 0, every default request to the baseline.
    Aborted,
    /// The canary became the default; the plan no longer routes, unless `pinned`.
    Promoted,
}

/// Why a verdict was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// The interval ended.
    Interval,
    /// Someone asked for it (`POST .../canary/judge`).
    Manual,
}

/// One kept verdict: when, why, at which weight, what it did, and the judge's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictRecord {
    pub at_unix_ms: u64,
    pub cause: Cause,
    /// The canary's weight over the judged interval (percent).
    pub weight: f64,
    /// `none`, `stepped to N%`, `promoted`, `rolled back`.
    pub action: String,
    #[serde(flatten)]
    pub judgement: Judgement,
}

/// A plan as it stands; part of [`super::TrafficState`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryState {
    pub settings: CanarySettings,
    pub phase: Phase,
    /// The canary's share of default traffic now, in percent.
    pub weight: f64,
    /// Seeds the sticky hash, so a device keeps its side across restarts of the host.
    pub seed: u64,
    /// Promoted while a higher version was loaded: the plan keeps routing every default
    /// request to the canary, as a pin, until it is deleted.
    #[serde(default)]
    pub pinned: bool,
    /// Why the plan left `running`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    #[serde(default)]
    pub verdicts: Vec<VerdictRecord>,
}

impl CanarySettings {
    /// Checks what does not need the routing table: weights, steps, interval, criteria.
    pub fn validate(&self) -> Result<(), TrafficError> {
        let canary = parse_version(&self.canary)?;
        let baseline = parse_version(&self.baseline)?;
        if canary == baseline {
            return Err(TrafficError::SameVersion(self.canary.clone()));
        }
        if !(self.weight > 0.0 && self.weight < 100.0) {
            return Err(TrafficError::Weight(self.weight));
        }
        let mut previous = self.weight;
        for &step in &self.steps {
            if !(step > previous && step <= 100.0) {
                return Err(TrafficError::Steps(format!(
                    "{:?} must rise above the weight {} and stay at most 100",
                    self.steps, self.weight
                )));
            }
            previous = step;
        }
        if self.interval_ms < 10 {
            return Err(TrafficError::Invalid(
                "interval_ms must be at least 10".into(),
            ));
        }
        let c = &self.criteria;
        let fraction = |x: f64| (0.0..=1.0).contains(&x);
        if !(fraction(c.error_margin) && c.alpha > 0.0 && c.alpha < 1.0 && c.latency_margin >= 0.0)
        {
            return Err(TrafficError::Invalid(
                "criteria: error_margin in [0, 1], alpha in (0, 1), latency_margin at least 0"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// Parses a version given by an operator.
pub fn parse_version(text: &str) -> Result<semver::Version, TrafficError> {
    semver::Version::parse(text.trim()).map_err(|_| TrafficError::InvalidVersion(text.into()))
}

impl CanaryState {
    pub fn new(settings: CanarySettings, seed: u64) -> Self {
        Self {
            weight: settings.weight,
            settings,
            phase: Phase::Running,
            seed,
            pinned: false,
            ended: None,
            verdicts: Vec::new(),
        }
    }

    /// The canary's weight in basis points, for the routing table.
    pub fn threshold(&self) -> u32 {
        match self.phase {
            Phase::Running => (self.weight * 100.0).round().clamp(0.0, f64::from(SCALE)) as u32,
            Phase::RolledBack | Phase::Aborted => 0,
            Phase::Promoted => SCALE,
        }
    }

    /// Acts on a judgement and keeps it (at most `keep` verdicts). `promote_pins` says
    /// whether promoting now would need a pin (a higher version is loaded).
    pub fn apply(
        &mut self,
        judgement: Judgement,
        cause: Cause,
        keep: usize,
        promote_pins: bool,
        now_unix_ms: u64,
    ) -> VerdictRecord {
        let weight = self.weight;
        let action = match judgement.outcome {
            Outcome::Inconclusive => "none".to_owned(),
            Outcome::Fail => {
                self.end(
                    Phase::RolledBack,
                    format!("rolled back by the judge: {}", judgement.reason),
                );
                "rolled back".to_owned()
            }
            Outcome::Pass => match self.settings.steps.iter().find(|&&step| step > weight) {
                Some(&next) if next < 100.0 => {
                    self.weight = next;
                    format!("stepped to {next}%")
                }
                _ => {
                    self.promote(
                        "promoted by the judge after passing every step",
                        promote_pins,
                    );
                    "promoted".to_owned()
                }
            },
        };
        let record = VerdictRecord {
            at_unix_ms: now_unix_ms,
            cause,
            weight,
            action,
            judgement,
        };
        self.verdicts.push(record.clone());
        let excess = self.verdicts.len().saturating_sub(keep);
        self.verdicts.drain(..excess);
        record
    }

    pub fn promote(&mut self, why: &str, pins: bool) {
        self.weight = 100.0;
        self.pinned = pins;
        self.end(Phase::Promoted, why.to_owned());
    }

    pub fn abort(&mut self, why: &str) {
        self.end(Phase::Aborted, why.to_owned());
    }

    fn end(&mut self, phase: Phase, why: String) {
        if phase != Phase::Promoted {
            self.weight = 0.0;
        }
        self.phase = phase;
        self.ended = Some(why);
    }
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Running => "running",
            Phase::RolledBack => "rolled_back",
            Phase::Aborted => "aborted",
            Phase::Promoted => "promoted",
        }
    }
}

#[cfg(test)]
mod tests;
