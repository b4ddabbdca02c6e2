//! The loader as one host sets it up: its policy for artifacts, its private copies
//! directory, its locked state directory of load markers, and its probe.

use std::path::PathBuf;

use super::{
    ArtifactsConfig, LoaderConfig,
    copies::{CopiesDir, CopiesSetupError, CopiesStats},
    load_markers::{InheritedLock, LoadMarkers, StateDirError},
    ownership::{self, Sharing},
    probe::{Probe, ProbeRuns},
};

/// Why a host cannot set up its loader (it does not start).
#[derive(Debug, thiserror::Error)]
pub enum LoaderSetupError {
    #[error(transparent)]
    Copies(#[from] CopiesSetupError),
    #[error(transparent)]
    StateDir(#[from] StateDirError),
    #[error(
        "artifacts.probe is on but no probe binary is set (HostConfig.artifacts.probe_binary); set artifacts.probe = false to load without a probe"
    )]
    NoProbeBinary,
    #[error(
        "refusing the state directory {path}: {reason} (anyone who can write it can make the host refuse files or forget a crash)"
    )]
    InsecureStateDir { path: PathBuf, reason: String },
    #[error("cannot use the probe binary {path}: {source}")]
    ProbeBinary {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Everything a load needs besides the file; one per host, shared by its deploys.
#[derive(Debug)]
pub struct Loader {
    artifacts: ArtifactsConfig,
    markers: LoadMarkers,
    copies: CopiesDir,
    probe: Option<Probe>,
    /// The runtime plugins' host services use (the one the host was started in).
    runtime: Option<tokio::runtime::Handle>,
}

impl Loader {
    /// Locks the state directory, reads what a dead host left there, and creates the private
    /// copies directory.
    pub fn new(config: LoaderConfig) -> Result<Self, LoaderSetupError> {
        Self::taking_over(config, None)
    }

    /// [`Loader::new`] for a successor: the state directory stays under the lock the host
    /// that handed over to it holds, and that host's markers are of a live process.
    pub fn taking_over(
        config: LoaderConfig,
        inherited: Option<InheritedLock>,
    ) -> Result<Self, LoaderSetupError> {
        let artifacts = config.artifacts;
        let probe = if artifacts.probe {
            let binary = artifacts
                .probe_binary
                .clone()
                .ok_or(LoaderSetupError::NoProbeBinary)?;
            std::fs::metadata(&binary).map_err(|source| LoaderSetupError::ProbeBinary {
                path: binary.clone(),
                source,
            })?;
            Some(Probe::new(
                binary,
                artifacts.probe_timeout,
                artifacts.probe_idle_wait,
            ))
        } else {
            tracing::warn!(
                "artifacts.probe is off: an artifact whose initializers crash takes the host down (once: it is refused at the next start)"
            );
            None
        };
        // The lock first: a second host on the same state directory makes no copies.
        let markers = LoadMarkers::open(&config.state_dir, inherited)?;
        if !artifacts.allow_insecure_permissions {
            let metadata =
                std::fs::metadata(&config.state_dir).map_err(|source| StateDirError::Io {
                    path: config.state_dir.clone(),
                    source,
                })?;
            ownership::check(&metadata, "it", Sharing::Refused).map_err(|reason| {
                LoaderSetupError::InsecureStateDir {
                    path: config.state_dir.clone(),
                    reason,
                }
            })?;
        }
        let copies = CopiesDir::create(
            &config.copies_parent,
            artifacts.keep_copies,
            artifacts.allow_insecure_permissions,
        )?;
        Ok(Self {
            artifacts,
            markers,
            copies,
            probe,
            runtime: tokio::runtime::Handle::try_current().ok(),
        })
    }

    /// The runtime plugins loaded by this loader reach timers and I/O on.
    pub fn runtime(&self) -> Option<&tokio::runtime::Handle> {
        self.runtime.as_ref()
    }

    /// The copies directory as `/admin/plugins` shows it.
    pub fn copies_stats(&self) -> CopiesStats {
        self.copies.stats()
    }

    /// How the load probes ran (all zero with `artifacts.probe = false`).
    pub fn probe_runs(&self) -> ProbeRuns {
        self.probe.as_ref().map(Probe::runs).unwrap_or_default()
    }

    /// The state directory, locked by this host.
    pub fn state_dir(&self) -> &std::path::Path {
        self.markers.state_dir()
    }

    /// At shutdown, once no load runs: removes the copies this host made and its copies
    /// directory, and unlocks the state directory. Later loads fail.
    pub fn close(&self) {
        self.copies.close();
        self.markers.close();
    }

    /// A duplicate of the state directory's locked description, for a successor.
    pub fn share_state_lock(&self) -> std::io::Result<std::os::fd::OwnedFd> {
        self.markers.share_lock()
    }

    pub(super) fn artifacts(&self) -> &ArtifactsConfig {
        &self.artifacts
    }

    pub(super) fn markers(&self) -> &LoadMarkers {
        &self.markers
    }

    pub(super) fn copies(&self) -> &CopiesDir {
        &self.copies
    }

    pub(super) fn probe(&self) -> Option<&Probe> {
        self.probe.as_ref()
    }
}

#[cfg(test)]
mod tests;
