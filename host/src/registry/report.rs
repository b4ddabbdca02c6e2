//! The admin view of the registry: every version with its derived state, bindings and the
//! files that were refused, taken under one lock so it is consistent.

use std::sync::Arc;

use frontdoor_plugin_api::PluginKind;

use super::{Failure, PluginVersion, Registry, VersionState, binding};

/// One loaded version as the admin API reports it.
pub struct VersionReport {
    pub version: Arc<PluginVersion>,
    pub state: VersionState,
    /// Why it is `failed` (its shared-module requirements could not be bound) or
    /// `quarantined`.
    pub reason: Option<String>,
    /// For each requirement, the module version it is bound to (if bound).
    pub bindings: Vec<Option<String>>,
    /// For a shared module, the plugin versions bound to it.
    pub bound_by: Vec<String>,
}

/// Everything `/admin/plugins` shows, taken under one lock so it is consistent.
pub struct Snapshot {
    pub versions: Vec<VersionReport>,
    pub failures: Vec<Failure>,
    pub retired_count: usize,
    pub retired_bytes: u64,
    pub retired_limit: usize,
    pub mapped: super::MappedLibraries,
    pub mapped_limit: usize,
}

impl Registry {
    pub fn snapshot(&self) -> Snapshot {
        let state = self.lock();
        let table = self.table();
        let resolution = &state.resolution;
        let everyone: Vec<Arc<PluginVersion>> = state
            .builtins
            .iter()
            .chain(state.live.values())
            .chain(&state.retired)
            .cloned()
            .collect();
        let bound = binding::bound_modules(resolution);
        let mut versions: Vec<VersionReport> = everyone
            .iter()
            .map(|version| {
                let reason = version
                    .health
                    .quarantine_reason()
                    .or_else(|| resolution.unresolved(version).map(str::to_owned));
                let is_bound = bound.contains(&(Arc::as_ptr(version) as usize));
                let state = if version.is_removed() {
                    if version.in_flight() > 0 || is_bound {
                        VersionState::Draining
                    } else {
                        VersionState::Retired
                    }
                } else if version.kind == PluginKind::Adapter
                    && state
                        .policy
                        .is_disabled(&version.identity.name, &version.identity.version)
                {
                    VersionState::Disabled
                } else if version.health.is_quarantined() {
                    VersionState::Quarantined
                } else if reason.is_some() {
                    VersionState::Failed
                } else if version.kind == PluginKind::SharedModule {
                    if is_bound {
                        VersionState::Active
                    } else {
                        VersionState::Standby
                    }
                } else if table.is_default(version) {
                    VersionState::Active
                } else {
                    VersionState::Standby
                };
                let bindings = match resolution.bindings(version) {
                    Some(bindings) => bindings
                        .iter()
                        .map(|b| Some(b.module.identity.label.clone()))
                        .collect(),
                    None => vec![None; version.requires.len()],
                };
                VersionReport {
                    bound_by: if version.kind == PluginKind::SharedModule {
                        resolution.bound_by(version, &everyone)
                    } else {
                        Vec::new()
                    },
                    version: version.clone(),
                    state,
                    reason,
                    bindings,
                }
            })
            .collect();
        versions.sort_by(|a, b| {
            a.version
                .identity
                .name
                .cmp(&b.version.identity.name)
                .then_with(|| {
                    b.version
                        .identity
                        .version
                        .cmp_precedence(&a.version.identity.version)
                })
        });
        Snapshot {
            versions,
            failures: state.failed.values().cloned().collect(),
            retired_count: state.retired.len(),
            retired_bytes: state.retired.iter().map(|v| v.file_bytes).sum(),
            retired_limit: self.config.retired_limit,
            mapped: state.mapped,
            mapped_limit: self.config.containment.max_mapped_libraries,
        }
    }
}
