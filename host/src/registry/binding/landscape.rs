//! What every version's bindings depend on besides its own requirements: while it stays
//! the same from one publication to the next, so does every outcome resolved before.

use std::{collections::BTreeMap, sync::Arc};

use frontdoor_plugin_api::PluginKind;

use super::{super::PluginVersion, key};

/// The shared modules a requirement may bind to, each by identity with whether it was
/// removed or quarantined (both change what it may be bound to), and operators' module
/// pins. Adapters are not in it: nothing binds to an adapter.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ModuleLandscape {
    modules: Vec<ModuleState>,
    pins: BTreeMap<String, semver::Version>,
}

#[derive(Debug, PartialEq, Eq)]
struct ModuleState {
    /// Its address: versions are held by the resolution that recorded this, so an address
    /// names one version.
    version: usize,
    removed: bool,
    quarantined: bool,
}

impl ModuleLandscape {
    pub fn of(versions: &[Arc<PluginVersion>], pins: &BTreeMap<String, semver::Version>) -> Self {
        Self {
            modules: versions
                .iter()
                .filter(|version| version.kind == PluginKind::SharedModule)
                .map(|version| ModuleState {
                    version: key(version),
                    removed: version.is_removed(),
                    quarantined: version.health.is_quarantined(),
                })
                .collect(),
            pins: pins.clone(),
        }
    }
}
