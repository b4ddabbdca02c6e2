//! What an operator can get wrong when changing traffic: one typed error per case, mapped to
//! a status by the admin endpoints.

#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("no adapter {0} is loaded")]
    UnknownAdapter(String),
    #[error("{adapter} has no loaded version {version}")]
    UnknownVersion {
        adapter: String,
        version: String,
        loaded: Vec<String>,
    },
    #[error("{0:?} is not a semver version")]
    InvalidVersion(String),
    #[error("the canary and the baseline are both {0}")]
    SameVersion(String),
    #[error("weight {0} is out of range: it must be above 0 and below 100 (percent)")]
    Weight(f64),
    #[error("steps {0}")]
    Steps(String),
    #[error("share {0} is out of range: it must be above 0 and at most 100 (percent)")]
    Share(f64),
    #[error("{0}")]
    Invalid(String),
    #[error("a canary of {0} is already running: promote or abort it first")]
    CanaryRunning(String),
    #[error("{0} has no canary plan")]
    NoCanary(String),
    #[error("the canary of {adapter} is not running (it is {phase})")]
    NotRunning {
        adapter: String,
        phase: &'static str,
    },
    #[error("{0} has no shadow")]
    NoShadow(String),
    #[error("{0} has no other routable version to be the baseline")]
    NoBaseline(String),
    #[error("{adapter}@{version} already serves the traffic it would mirror")]
    ShadowOfDefault { adapter: String, version: String },
}
