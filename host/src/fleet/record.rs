//! What the fleet keeps in etcd, and under which keys: the desired artifacts, the
//! operators' decisions, and each host's report.

use serde::{Deserialize, Serialize};

use super::signature::Claim;

/// The keys of one fleet, all under its prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// Every desired artifact's record starts with this.
    pub fn artifacts(&self) -> String {
        format!("{}/artifacts/", self.prefix)
    }

    /// The record of `name@version`.
    pub fn artifact(&self, name: &str, version: &semver::Version) -> String {
        format!("{}/artifacts/{name}/{version}", self.prefix)
    }

    /// The operators' decisions (pins, disables, canaries, shadows) of the whole fleet.
    pub fn control(&self) -> String {
        format!("{}/control", self.prefix)
    }

    /// Every host's report starts with this.
    pub fn hosts(&self) -> String {
        format!("{}/hosts/", self.prefix)
    }

    pub fn host(&self, host_id: &str) -> String {
        format!("{}/hosts/{host_id}", self.prefix)
    }

    /// The object holding the artifact with this SHA-256 (content addressed: a published
    /// object is never overwritten with other bytes).
    pub fn object(&self, sha256: &str) -> String {
        format!(
            "{}/artifacts/sha256/{sha256}",
            self.prefix.trim_start_matches('/')
        )
    }
}

/// One published version: where its bytes are and the signature that vouches for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRecord {
    pub name: String,
    pub version: semver::Version,
    pub team: String,
    /// `adapter` or `module`.
    pub kind: String,
    pub sha256: String,
    pub size: u64,
    /// The object key in the bucket.
    pub object: String,
    /// The whole `.minisig` text.
    pub signature: String,
    /// What the artifact is called in a host's plugins directory.
    pub file_name: String,
    pub published_unix_ms: u64,
}

impl ArtifactRecord {
    /// The record of an artifact signed as `claim`, of `size` bytes, stored under `object`.
    pub fn new(claim: &Claim, size: u64, object: String, signature: String, now_ms: u64) -> Self {
        Self {
            name: claim.name.clone(),
            version: claim.version.clone(),
            team: claim.team.clone(),
            kind: claim.kind.as_str().to_owned(),
            sha256: claim.sha256.clone(),
            size,
            object,
            signature,
            file_name: file_name(&claim.name, &claim.version),
            published_unix_ms: now_ms,
        }
    }

    /// `name@version`.
    pub fn plugin(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// The file name a fleet host installs `name@version` as.
pub fn file_name(name: &str, version: &semver::Version) -> String {
    format!("{name}-{version}.so")
}

/// One host's account of the desired versions, kept under a lease so that a host that
/// stops renewing it leaves the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostReport {
    pub host_id: String,
    /// The device listener and admin API, as the host was configured.
    pub listen: String,
    pub admin_listen: String,
    /// The etcd revision of the desired state this report reflects.
    pub desired_revision: i64,
    pub versions: Vec<VersionReport>,
    pub updated_unix_ms: u64,
}

/// One desired version on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionReport {
    pub name: String,
    pub version: semver::Version,
    /// `loaded` (with its registry state), `failed`, `installing` or `pending`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
