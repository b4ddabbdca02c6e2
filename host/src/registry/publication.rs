//! Publication: re-binds shared modules and builds the routing table from the live
//! versions, then swaps it in for the request path.
//!
//! **Invariant:** publication runs no plugin code while it holds the registry's lock. The
//! bindings it publishes are data the host builds ([`binding::BindingSets`]); the layout
//! checks binding needs, which do run plugin code, are made beforehand, outside the lock
//! ([`Registry::check_interfaces`]); and nothing is pushed into a plugin.

use std::{collections::HashMap, sync::Arc};

use frontdoor_plugin_api::PluginKind;

use super::{PluginVersion, Registry, RegistryState, binding, binding::Resolution};
use crate::{
    loader::LoadedLibrary,
    router::{AdapterVersions, Routed, RoutingTable},
};

impl Registry {
    /// Makes, outside the state lock, the interface layout checks that binding `library`
    /// beside the versions already known will need, and records their verdicts for the
    /// publication that follows. The caller holds `deploying`, so no other deploy changes
    /// the set of versions in between.
    pub(super) fn check_interfaces(&self, library: &LoadedLibrary) {
        self.check_interfaces_beside(library, &[]);
    }

    /// [`Registry::check_interfaces`], counting `staged` versions (a bundle's members loaded
    /// before this one, not yet live) among those it may bind with.
    pub(super) fn check_interfaces_beside(
        &self,
        library: &LoadedLibrary,
        staged: &[Arc<PluginVersion>],
    ) {
        let newcomer = binding::Interfaces::of_library(library);
        let pending = {
            let state = self.lock();
            let mut versions = participants(&state);
            versions.extend(staged.iter().cloned());
            state
                .resolution
                .layout_checks()
                .pending(&versions, &newcomer)
        };
        if pending.is_empty() {
            return;
        }
        let made = binding::run_layout_checks(pending);
        self.lock().resolution.layout_checks_mut().record(made);
    }

    /// Re-binds shared modules, builds the routing table from the live versions whose
    /// requirements are bound, and swaps it in.
    pub(super) fn publish(&self, state: &mut RegistryState) {
        let participants = participants(state);
        let resolution = binding::resolve(
            &participants,
            &mut state.resolution,
            &state.policy.module_pins,
        );
        for version in &participants {
            report_binding_change(version, &state.resolution, &resolution);
        }

        let mut sets = binding::BindingSets::new(&resolution);
        let mut adapters: HashMap<Box<str>, AdapterVersions> = HashMap::new();
        for version in state.builtins.iter().chain(state.live.values()) {
            // A disabled version takes no traffic at all, with or without a version header.
            if version.kind != PluginKind::Adapter
                || state
                    .policy
                    .is_disabled(&version.identity.name, &version.identity.version)
            {
                continue;
            }
            let Some(bound) = sets.of(version) else {
                if resolution.unresolved(version).is_none() {
                    tracing::warn!(plugin = %version.identity.label, "its bindings lead back to a module that requires it; this version takes no requests");
                }
                continue;
            };
            adapters
                .entry(version.identity.name.as_str().into())
                .or_default()
                .versions
                .push(Routed::new(version.clone(), bound.set, bound.in_use));
        }
        for (name, adapter) in &mut adapters {
            adapter.versions.sort_by(|a, b| {
                b.version
                    .identity
                    .version
                    .cmp_precedence(&a.version.identity.version)
            });
            // A pin whose version is not routable (gone, disabled, unbound) is no pin.
            adapter.pinned = state.policy.adapter_pins.get(&**name).and_then(|pin| {
                adapter
                    .versions
                    .iter()
                    .position(|routed| routed.version.identity.version == *pin)
            });
        }
        state.resolution = resolution;
        let table = RoutingTable::new(adapters);
        remember_previous_defaults(&self.table.load(), &table, &mut state.previous_defaults);
        self.table.store(Arc::new(table));
    }
}

/// Notes, for each adapter whose default changes from `old` to `new`, the default it had.
/// The default here is the publication's (pin, else highest routable); quarantines, which
/// come and go between publications, do not count as a change of default.
fn remember_previous_defaults(
    old: &RoutingTable,
    new: &RoutingTable,
    previous: &mut HashMap<String, semver::Version>,
) {
    for adapter in old.adapters() {
        let Some(before) = adapter.published_default() else {
            continue;
        };
        let name = &before.identity.name;
        let after = new
            .adapter(name)
            .and_then(|adapter| adapter.published_default());
        if after.is_some_and(|after| after.identity.version != before.identity.version) {
            previous.insert(name.clone(), before.identity.version.clone());
        }
    }
}

/// The versions whose requirements are resolved: compiled-in and live versions, and removed
/// shared modules, which consumers may still be bound to.
pub(super) fn participants(state: &RegistryState) -> Vec<Arc<PluginVersion>> {
    state
        .builtins
        .iter()
        .chain(state.live.values())
        .chain(
            state
                .retired
                .iter()
                .filter(|v| v.kind == PluginKind::SharedModule),
        )
        .cloned()
        .collect()
}

/// Logs what changed for `version` between two resolutions.
fn report_binding_change(version: &Arc<PluginVersion>, before: &Resolution, after: &Resolution) {
    let label = &version.identity.label;
    match (before.unresolved(version), after.unresolved(version)) {
        (old, Some(reason)) if old != Some(reason) && !version.is_removed() => {
            tracing::warn!(plugin = %label, %reason, "requirements cannot be bound; this version takes no requests");
        }
        _ => {}
    }
    let bound = |resolution: &Resolution| {
        resolution.bindings(version).map(|bindings| {
            bindings
                .iter()
                .map(|b| Arc::as_ptr(&b.module))
                .collect::<Vec<_>>()
        })
    };
    if bound(before) == bound(after) {
        return;
    }
    if let Some(bindings) = after.bindings(version)
        && !bindings.is_empty()
    {
        let labels: Vec<&str> = bindings
            .iter()
            .map(|b| b.module.identity.label.as_str())
            .collect();
        tracing::info!(plugin = %label, bound = %labels.join(", "), "shared modules bound");
    }
}
