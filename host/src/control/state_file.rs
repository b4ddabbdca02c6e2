//! Operators' decisions that outlive the host: `control.json` in `state_dir`, written
//! atomically (temp file, fsync, rename, fsync of the directory) and read at start.
//!
//! A state file that cannot be read or parsed stops the start with its path: dropping it
//! would silently undo pins and disables. Each section is `#[serde(default)]`, so a section
//! added later (canaries, shadows) reads older files, and sections this host does not know
//! are kept as they are when it rewrites the file.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs::File,
    io::Write as _,
    path::{Path, PathBuf},
};

use semver::Version;
use serde::{Deserialize, Serialize};

use crate::{router::OperatorPolicy, traffic::TrafficState};

/// The format this host writes; it refuses files of a later one.
pub const FORMAT: u32 = 1;
/// The file's name in `state_dir`.
pub const FILE_NAME: &str = "control.json";
/// Lifted quarantines remembered per adapter (the most recent ones).
const LIFTS_KEPT: usize = 16;

/// Everything operators decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlState {
    pub format: u32,
    #[serde(default)]
    pub adapters: BTreeMap<String, AdapterControl>,
    #[serde(default)]
    pub modules: BTreeMap<String, ModuleControl>,
    /// Canary plans (with their weights and verdicts) and shadows, as `traffic` saves them.
    #[serde(default)]
    pub traffic: TrafficState,
    /// Sections this host does not know (written by a newer one), kept as they are.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// Operators' decisions about one adapter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdapterControl {
    /// The version devices get without `x-frontdoor-version`, while it can serve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<Version>,
    /// Versions that take no traffic at all.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub disabled: BTreeSet<Version>,
    /// Quarantines an operator lifted, most recent last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifted_quarantines: Vec<LiftedQuarantine>,
}

/// One lifted quarantine: which version, why it had been quarantined, by whom and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiftedQuarantine {
    pub version: Version,
    pub reason: String,
    pub team: String,
    pub at_unix_ms: u128,
}

/// Operators' decisions about one shared module.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleControl {
    /// The version consumers bind to when their requirement allows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<Version>,
}

impl Default for ControlState {
    fn default() -> Self {
        Self {
            format: FORMAT,
            adapters: BTreeMap::new(),
            modules: BTreeMap::new(),
            traffic: TrafficState::default(),
            other: BTreeMap::new(),
        }
    }
}

impl ControlState {
    /// The routing and binding overrides the registry applies at each publication.
    pub fn policy(&self) -> OperatorPolicy {
        let mut policy = OperatorPolicy::default();
        for (name, adapter) in &self.adapters {
            if let Some(pin) = &adapter.pin {
                policy.adapter_pins.insert(name.clone(), pin.clone());
            }
            if !adapter.disabled.is_empty() {
                policy
                    .disabled
                    .insert(name.clone(), adapter.disabled.clone());
            }
        }
        for (name, module) in &self.modules {
            if let Some(pin) = &module.pin {
                policy.module_pins.insert(name.clone(), pin.clone());
            }
        }
        policy
    }

    /// Drops the entries that say nothing, so the file holds only decisions.
    pub fn prune(&mut self) {
        self.adapters
            .retain(|_, adapter| *adapter != AdapterControl::default());
        self.modules
            .retain(|_, module| *module != ModuleControl::default());
    }
}

impl AdapterControl {
    /// Remembers a lifted quarantine, keeping the most recent few.
    pub fn remember_lift(&mut self, lift: LiftedQuarantine) {
        self.lifted_quarantines.push(lift);
        let excess = self.lifted_quarantines.len().saturating_sub(LIFTS_KEPT);
        self.lifted_quarantines.drain(..excess);
    }
}

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("cannot read the state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the state file {path} is corrupt ({source}); fix or remove it to start")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "the state file {path} has format {found}, newer than this host's {FORMAT}; \
         run a newer host"
    )]
    Newer { path: PathBuf, found: u32 },
    #[error("cannot write the state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The state file of one state directory.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub fn in_dir(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join(FILE_NAME),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved state; the empty state when there is no file yet.
    pub fn load(&self) -> Result<ControlState, StateFileError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ControlState::default());
            }
            Err(source) => {
                return Err(StateFileError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let state: ControlState =
            serde_json::from_slice(&bytes).map_err(|source| StateFileError::Corrupt {
                path: self.path.clone(),
                source,
            })?;
        if state.format > FORMAT {
            return Err(StateFileError::Newer {
                path: self.path.clone(),
                found: state.format,
            });
        }
        Ok(state)
    }

    /// Replaces the file with `state`: a crash at any point leaves either the old file or
    /// the new one, whole.
    pub fn save(&self, state: &ControlState) -> Result<(), StateFileError> {
        let fail = |source| StateFileError::Write {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let temporary = dir.join(format!(".{FILE_NAME}.tmp"));
        let mut bytes = serde_json::to_vec_pretty(state)
            .map_err(std::io::Error::other)
            .map_err(fail)?;
        bytes.push(b'\n');
        let mut file = File::create(&temporary).map_err(fail)?;
        file.write_all(&bytes).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        drop(file);
        std::fs::rename(&temporary, &self.path).map_err(fail)?;
        // The rename itself is durable only once the directory is.
        File::open(dir).and_then(|dir| dir.sync_all()).map_err(fail)
    }
}

#[cfg(test)]
mod tests;
