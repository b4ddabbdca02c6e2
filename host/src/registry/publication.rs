//! Publication: re-binds shared modules and builds the routing table from the live
//! versions, then swaps it in for the request path.
//!
//! **Invariant:** publication runs no plugin code while it holds the registry's lock. The
//! bindings it publishes are data the host builds ([`binding::BindingSets`]); the layout
//! checks binding needs, which do run plugin code, are made beforehand, outside the lock
//! ([`Registry::check_interfaces`]); and nothing is pushed into a plugin.

mod table;

use std::{
    collections::{BTreeSet, HashMap},
    sync::Arc,
};

use frontdoor_plugin_api::PluginKind;

use super::{PluginVersion, Registry, RegistryState, binding, binding::Resolution};
use crate::{
    loader::LoadedLibrary,
    router::{AdapterVersions, OperatorPolicy, RoutingTable},
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
    /// requirements are bound, and swaps it in. What did not change since the last
    /// publication is carried over rather than rebuilt: the bindings of every version when
    /// no shared module changed ([`binding::resolve`]), and the table entry of every adapter
    /// whose versions, bindings and pin are the same ([`table::build`]).
    pub(super) fn publish(&self, state: &mut RegistryState) {
        let participants = participants(state);
        let mut resolution = binding::resolve(
            &participants,
            &mut state.resolution,
            &state.policy.module_pins,
        );
        // Carried outcomes are unchanged by definition: only fresh ones may need a word.
        for version in resolution.fresh() {
            report_binding_change(version, &state.resolution, &resolution);
        }

        let versions: Vec<Arc<PluginVersion>> = state
            .builtins
            .iter()
            .chain(state.live.values())
            .cloned()
            .collect();
        let previous = self.table.load();
        let changed = changed_adapters(&state.published, &state.policy, &versions, &resolution);
        let touched: Option<Vec<&str>> = match &changed {
            table::Changed::Only(names) => Some(names.iter().copied().collect()),
            table::Changed::All => None,
        };
        let mut sets = binding::BindingSets::new(&resolution);
        let table = table::build(
            &table::Sources {
                versions: &versions,
                policy: &state.policy,
                resolution: &resolution,
            },
            &mut sets,
            changed,
            &previous,
        );
        remember_previous_defaults(
            &previous,
            &table,
            touched.as_deref(),
            &mut state.previous_defaults,
        );
        let built = sets.finish();
        resolution.keep_sets(built);
        state.resolution = resolution;
        state.published = Published {
            versions,
            policy: state.policy.clone(),
            once: true,
        };
        self.table.store(Arc::new(table));
    }
}

/// What the last publication was built from, to tell what the next one changes.
#[derive(Default)]
pub(super) struct Published {
    /// The compiled-in and live versions, in the registry's order.
    versions: Vec<Arc<PluginVersion>>,
    policy: OperatorPolicy,
    /// False until the first publication.
    once: bool,
}

/// The adapters whose table entries may differ from the last publication's: those with a
/// version added, removed or replaced, with a changed pin or disabled version, or with a
/// version bound afresh; every adapter when bindings were not carried over (a shared
/// module or module pin changed) or on the first publication.
fn changed_adapters<'a>(
    published: &'a Published,
    policy: &'a OperatorPolicy,
    versions: &'a [Arc<PluginVersion>],
    resolution: &'a Resolution,
) -> table::Changed<'a> {
    if !published.once || !resolution.carried() {
        return table::Changed::All;
    }
    let mut changed = BTreeSet::new();
    if table::changed_versions(&published.versions, versions, &mut changed).is_none() {
        return table::Changed::All;
    }
    table::changed_policy(&published.policy, policy, &mut changed);
    changed.extend(
        resolution
            .fresh()
            .iter()
            .filter(|version| version.kind == PluginKind::Adapter)
            .map(|version| version.identity.name.as_str()),
    );
    table::Changed::Only(changed)
}

/// Notes, for each adapter whose default changes from `old` to `new`, the default it had;
/// `only`: the adapters whose entries may differ (the others cannot have changed).
/// The default here is the publication's (pin, else highest routable); quarantines, which
/// come and go between publications, do not count as a change of default.
fn remember_previous_defaults(
    old: &RoutingTable,
    new: &RoutingTable,
    only: Option<&[&str]>,
    previous: &mut HashMap<String, semver::Version>,
) {
    let olds: Box<dyn Iterator<Item = &AdapterVersions>> = match only {
        Some(names) => Box::new(names.iter().filter_map(|name| old.adapter(name))),
        None => Box::new(old.adapters()),
    };
    for adapter in olds {
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
    // Carried over unchanged (the common case): nothing to say, and nothing to compare.
    if let (Some(before), Some(after)) = (before.bindings(version), after.bindings(version))
        && Arc::ptr_eq(before, after)
    {
        return;
    }
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

#[cfg(test)]
mod tests;
