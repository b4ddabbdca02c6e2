//! Publication: re-binds shared modules and builds the routing table from the live
//! versions, then swaps it in for the request path.

use std::{collections::HashMap, sync::Arc};

use frontdoor_plugin_api::PluginKind;

use super::{Handler, PluginVersion, Registry, RegistryState, binding, binding::Resolution};
use crate::router::{AdapterVersions, Routed, RoutingTable};

impl Registry {
    /// Re-binds shared modules, builds the routing table from the live versions whose
    /// requirements are bound, and swaps it in.
    pub(super) fn publish(&self, state: &mut RegistryState) {
        // Removed shared modules take part: consumers may still be bound to them.
        let participants: Vec<Arc<PluginVersion>> = state
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
            .collect();
        let resolution = binding::resolve(&participants, &state.resolution);
        for version in &participants {
            report_binding_change(version, &state.resolution, &resolution);
        }

        let mut adapters: HashMap<Box<str>, AdapterVersions> = HashMap::new();
        for version in state.builtins.iter().chain(state.live.values()) {
            if version.kind != PluginKind::Adapter {
                continue;
            }
            let Some(bindings) = resolution.bindings(version) else {
                continue;
            };
            adapters
                .entry(version.identity.name.as_str().into())
                .or_insert_with(|| AdapterVersions {
                    versions: Vec::new(),
                })
                .versions
                .push(Routed::new(version.clone(), bindings.clone()));
        }
        for adapter in adapters.values_mut() {
            adapter.versions.sort_by(|a, b| {
                b.version
                    .identity
                    .version
                    .cmp_precedence(&a.version.identity.version)
            });
        }
        state.resolution = resolution;
        self.table.store(Arc::new(RoutingTable::new(adapters)));
    }
}

/// Logs what changed for `version` between two resolutions, and hands a shared module its
/// new bindings (adapters read theirs per request from the routing table).
fn report_binding_change(version: &Arc<PluginVersion>, before: &Resolution, after: &Resolution) {
    let label = &version.identity.label;
    match (before.unresolved(version), after.unresolved(version)) {
        (old, Some(reason)) if old != Some(reason) && !version.is_removed() => {
            tracing::warn!(plugin = %label, %reason, "requirements cannot be bound; this version takes no requests");
        }
        _ => {}
    }
    let tables = |resolution: &Resolution| {
        resolution.bindings(version).map(|bindings| {
            bindings
                .iter()
                .map(|b| (b.module.identity.label.clone(), b.table))
                .collect::<Vec<_>>()
        })
    };
    let (old, new) = (tables(before), tables(after));
    if old == new {
        return;
    }
    if let Some(new) = &new
        && !new.is_empty()
    {
        let bound: Vec<&str> = new.iter().map(|(module, _)| module.as_str()).collect();
        tracing::info!(plugin = %label, bound = %bound.join(", "), "shared modules bound");
        if let Handler::Plugin(module) = &version.handler
            && version.kind == PluginKind::SharedModule
        {
            (module.bind())(new.iter().map(|(_, table)| *table).collect());
        }
    }
}
