//! This host's account of the desired versions, kept in etcd under a lease: renewed while
//! the host lives, gone within the lease's time to live when it dies.

use std::sync::Arc;

use super::{
    Backoff, Fleet, Outcome, now_ms,
    record::{HostReport, VersionReport},
};
use crate::registry::VersionState;

/// Runs for the life of the host.
pub async fn run(fleet: Arc<Fleet>) {
    let mut backoff = Backoff::new(fleet.config.max_backoff);
    loop {
        if let Err(error) = keep_reporting(&fleet, &mut backoff).await {
            tracing::debug!(%error, "the fleet report lapsed; starting again");
        }
        backoff.wait().await;
    }
}

/// Grants a lease, then writes the report whenever it changes and renews the lease at a
/// third of its time to live, until etcd fails.
async fn keep_reporting(fleet: &Arc<Fleet>, backoff: &mut Backoff) -> Result<(), String> {
    let lease = fleet.etcd.grant(fleet.config.lease_ttl).await?;
    backoff.reset();
    let key = fleet.keys.host(&fleet.config.host_id);
    let renew_every = fleet.config.lease_ttl / 3;
    // Loads and publications happen on the deployer thread, which does not tell the fleet:
    // the report is also compared every second.
    let look_every = renew_every.min(std::time::Duration::from_secs(1));
    let mut written: Option<HostReport> = None;
    let mut renewed = tokio::time::Instant::now();
    loop {
        let mut report = fleet.report();
        let same = written.as_ref().is_some_and(|last| {
            last.versions == report.versions && last.desired_revision == report.desired_revision
        });
        if !same {
            report.updated_unix_ms = now_ms();
            let value = serde_json::to_vec(&report).map_err(|error| error.to_string())?;
            fleet.etcd.put_leased(&key, value, lease).await?;
            written = Some(report);
        }
        if renewed.elapsed() >= renew_every {
            fleet.etcd.renew(lease).await?;
            renewed = tokio::time::Instant::now();
        }
        tokio::select! {
            () = fleet.changed.notified() => {}
            () = tokio::time::sleep(look_every) => {}
        }
    }
}

impl Fleet {
    /// What this host would report now.
    pub fn report(&self) -> HostReport {
        let status = self.lock();
        let snapshot = self.registry.snapshot();
        let versions = status
            .desired
            .values()
            .map(|record| {
                let path = self.plugins_dir.join(&record.file_name);
                let loaded = snapshot
                    .versions
                    .iter()
                    .find(|report| report.version.source.as_deref() == Some(path.as_path()));
                let refused = snapshot
                    .failures
                    .iter()
                    .find(|failure| failure.file == path);
                let (state, reason) =
                    match (status.outcomes.get(&record.file_name), loaded, refused) {
                        (Some(Outcome::Failed(reason)), _, _) => {
                            ("failed".to_owned(), Some(reason.clone()))
                        }
                        (_, Some(loaded), _) => (
                            loaded.state.as_str().to_owned(),
                            loaded.reason.clone().filter(|_| {
                                matches!(
                                    loaded.state,
                                    VersionState::Failed | VersionState::Quarantined
                                )
                            }),
                        ),
                        (_, None, Some(refused)) => {
                            ("failed".to_owned(), Some(refused.reason.clone()))
                        }
                        (Some(Outcome::Installed), None, None) => ("installing".to_owned(), None),
                        (None, None, None) => ("pending".to_owned(), None),
                    };
                VersionReport {
                    name: record.name.clone(),
                    version: record.version.clone(),
                    state,
                    reason,
                }
            })
            .collect();
        HostReport {
            host_id: self.config.host_id.clone(),
            listen: self.listen.to_string(),
            admin_listen: self.admin_listen.to_string(),
            desired_revision: status.desired_revision,
            versions,
            updated_unix_ms: 0,
        }
    }
}
