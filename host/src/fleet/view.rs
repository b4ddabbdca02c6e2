//! `GET /admin/fleet`: every host's report against the published versions, read from etcd,
//! with the hosts that lag behind named.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    Fleet,
    etcd::Etcd,
    now_ms,
    record::{ArtifactRecord, HostReport, Keys},
};

/// The fleet as this host sees it.
#[derive(Debug, Serialize)]
pub struct FleetView {
    /// The host answering.
    pub host_id: String,
    /// `ok`, or why etcd could not be read (then `hosts` holds only this host).
    pub etcd: String,
    pub desired: Vec<DesiredView>,
    pub hosts: Vec<HostView>,
}

#[derive(Debug, Serialize)]
pub struct DesiredView {
    pub name: String,
    pub version: semver::Version,
    pub team: String,
    pub kind: String,
    pub sha256: String,
    pub published_unix_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct HostView {
    #[serde(flatten)]
    pub report: HostReport,
    /// Published versions this host does not serve (not loaded, failed or unreported).
    pub missing: Vec<String>,
    /// True when the host is behind its peers: it misses a version another host serves.
    pub lagging: bool,
}

/// States in which a version counts as served (or ready to be) on a host.
const SERVED: [&str; 3] = ["active", "standby", "disabled"];

impl Fleet {
    /// Reads the fleet's reports and published versions; with etcd unreachable, says so
    /// and shows this host's own report.
    pub async fn view(&self) -> FleetView {
        match read(&self.etcd, &self.keys, &self.config.host_id).await {
            Ok(view) => view,
            Err(error) => FleetView {
                host_id: self.config.host_id.clone(),
                etcd: format!("unreachable: {error}"),
                desired: Vec::new(),
                hosts: vec![HostView {
                    missing: Vec::new(),
                    lagging: false,
                    report: HostReport {
                        // As of now: it was not read from etcd.
                        updated_unix_ms: now_ms(),
                        ..self.report()
                    },
                }],
            },
        }
    }
}

/// The fleet's published versions and host reports, as `host_id` shows them.
pub async fn read(etcd: &Etcd, keys: &Keys, host_id: &str) -> Result<FleetView, String> {
    {
        let desired = etcd.list(&keys.artifacts()).await?;
        let hosts = etcd.list(&keys.hosts()).await?;
        let records: BTreeMap<String, ArtifactRecord> = desired
            .entries
            .iter()
            .filter_map(|entry| serde_json::from_slice::<ArtifactRecord>(&entry.value).ok())
            .map(|record| (record.plugin(), record))
            .collect();
        let reports: Vec<HostReport> = hosts
            .entries
            .iter()
            .filter_map(|entry| serde_json::from_slice::<HostReport>(&entry.value).ok())
            .collect();
        let serves = |report: &HostReport, plugin: &str| {
            report.versions.iter().any(|version| {
                format!("{}@{}", version.name, version.version) == plugin
                    && SERVED.contains(&version.state.as_str())
            })
        };
        let hosts = reports
            .iter()
            .map(|report| {
                let missing: Vec<String> = records
                    .keys()
                    .filter(|plugin| !serves(report, plugin))
                    .cloned()
                    .collect();
                // Behind its peers: missing what another host serves. A version no host
                // serves (refused everywhere) is the artifact's problem, not a lag.
                let lagging = missing.iter().any(|plugin| {
                    reports
                        .iter()
                        .any(|other| other.host_id != report.host_id && serves(other, plugin))
                });
                HostView {
                    report: report.clone(),
                    missing,
                    lagging,
                }
            })
            .collect();
        Ok(FleetView {
            host_id: host_id.to_owned(),
            etcd: "ok".into(),
            desired: records
                .values()
                .map(|record| DesiredView {
                    name: record.name.clone(),
                    version: record.version.clone(),
                    team: record.team.clone(),
                    kind: record.kind.clone(),
                    sha256: record.sha256.clone(),
                    published_unix_ms: record.published_unix_ms,
                })
                .collect(),
            hosts,
        })
    }
}
