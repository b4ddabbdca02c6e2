//! The routing table of one publication, built from the previous one: an adapter whose
//! routable versions, bindings and pin are unchanged keeps its entry (the same
//! `Arc<AdapterVersions>`), and a publication that is known to concern a few adapters
//! (a deploy, a removal, a pin) looks at those only.

use std::{
    cmp::Ordering,
    collections::{BTreeSet, HashMap},
    path::Path,
    sync::Arc,
};

use frontdoor_plugin_api::PluginKind;

use super::super::{PluginVersion, binding::BindingSets, binding::Resolution};
use crate::router::{AdapterVersions, OperatorPolicy, Routed, RoutingTable};

/// What a publication builds its table from.
pub(super) struct Sources<'a> {
    /// The compiled-in versions, then the live ones by file path (as the registry lists
    /// them).
    pub versions: &'a [Arc<PluginVersion>],
    pub policy: &'a OperatorPolicy,
    pub resolution: &'a Resolution,
}

/// Which adapters' entries may differ from the previous table's.
pub(super) enum Changed<'a> {
    /// Any: every entry is rebuilt (and kept where it comes out the same).
    All,
    /// Only these; every other entry is the previous table's.
    Only(BTreeSet<&'a str>),
}

/// Past this many changed adapters, building them one by one (each a pass over every
/// version) costs more than building every entry in one pass.
const MAX_ONE_BY_ONE: usize = 16;

pub(super) fn build(
    sources: &Sources<'_>,
    sets: &mut BindingSets<'_>,
    changed: Changed<'_>,
    previous: &RoutingTable,
) -> RoutingTable {
    match changed {
        Changed::Only(names) if names.len() <= MAX_ONE_BY_ONE => {
            let mut adapters = previous.entries().clone();
            for name in names {
                let versions: Vec<Routed> = sources
                    .versions
                    .iter()
                    .filter(|version| version.identity.name == name)
                    .filter_map(|version| routed(version, sources, sets))
                    .collect();
                match entry(name, versions, sources.policy, previous) {
                    Some((key, entry)) => adapters.insert(key, entry),
                    None => adapters.remove(name),
                };
            }
            RoutingTable::new(adapters)
        }
        _ => {
            let mut grouped: HashMap<&str, Vec<Routed>> = HashMap::new();
            for version in sources.versions {
                if let Some(routed) = routed(version, sources, sets) {
                    grouped
                        .entry(version.identity.name.as_str())
                        .or_default()
                        .push(routed);
                }
            }
            let adapters = grouped
                .into_iter()
                .filter_map(|(name, versions)| entry(name, versions, sources.policy, previous))
                .collect();
            RoutingTable::new(adapters)
        }
    }
}

/// `version` with its binding tree, if it takes traffic.
fn routed(
    version: &Arc<PluginVersion>,
    sources: &Sources<'_>,
    sets: &mut BindingSets<'_>,
) -> Option<Routed> {
    // A disabled version takes no traffic at all, with or without a version header.
    if version.kind != PluginKind::Adapter
        || sources
            .policy
            .is_disabled(&version.identity.name, &version.identity.version)
    {
        return None;
    }
    let Some(bound) = sets.of(version) else {
        if sources.resolution.unresolved(version).is_none() {
            tracing::warn!(plugin = %version.identity.label, "its bindings lead back to a module that requires it; this version takes no requests");
        }
        return None;
    };
    Some(Routed::new(version.clone(), bound.set, bound.in_use))
}

/// Adapter `name`'s entry routing `versions` (in the registry's order), highest first: the
/// previous table's when it routes the same, else a new one; `None` when nothing is routable.
fn entry(
    name: &str,
    mut versions: Vec<Routed>,
    policy: &OperatorPolicy,
    previous: &RoutingTable,
) -> Option<(Arc<str>, Arc<AdapterVersions>)> {
    if versions.is_empty() {
        return None;
    }
    // Stable: versions of equal precedence keep the registry's order.
    versions.sort_by(|a, b| {
        b.version
            .identity
            .version
            .cmp_precedence(&a.version.identity.version)
    });
    // A pin whose version is not routable (gone, disabled, unbound) is no pin.
    let pinned = policy.adapter_pins.get(name).and_then(|pin| {
        versions
            .iter()
            .position(|routed| routed.version.identity.version == *pin)
    });
    let adapter = AdapterVersions { versions, pinned };
    match previous.entry(name) {
        Some((key, kept)) if kept.same_as(&adapter) => Some((key.clone(), kept.clone())),
        Some((key, _)) => Some((key.clone(), Arc::new(adapter))),
        None => Some((Arc::from(name), Arc::new(adapter))),
    }
}

/// The adapters whose versions differ between `before` and `after`, two lists in the
/// registry's order (compiled-in versions as added, then live ones by file path: a live
/// version's `source` is its key in the registry's `live` map), found in one pass that
/// compares addresses; `None` when a list is found out of that order (then every adapter is
/// treated as changed).
pub(super) fn changed_versions<'a>(
    before: &'a [Arc<PluginVersion>],
    after: &'a [Arc<PluginVersion>],
    changed: &mut BTreeSet<&'a str>,
) -> Option<()> {
    let (mut old, mut new) = (0, 0);
    let (mut last_old, mut last_new) = (None, None);
    loop {
        let order = match (before.get(old), after.get(new)) {
            (None, None) => return Some(()),
            (Some(a), Some(b)) if Arc::ptr_eq(a, b) => {
                old += 1;
                new += 1;
                continue;
            }
            (Some(a), Some(b)) => place(a).cmp(&place(b)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
        };
        if order != Ordering::Greater {
            let gone = &before[old];
            check_order(&mut last_old, gone)?;
            changed.insert(gone.identity.name.as_str());
            old += 1;
        }
        if order != Ordering::Less {
            let came = &after[new];
            check_order(&mut last_new, came)?;
            changed.insert(came.identity.name.as_str());
            new += 1;
        }
    }
}

/// Where a version sits in the registry's order: compiled-in first, then by file path.
fn place(version: &PluginVersion) -> (bool, Option<&Path>) {
    (version.source.is_some(), version.source.as_deref())
}

/// Fails when `version` does not come after the last live version seen on its side.
fn check_order<'a>(last: &mut Option<&'a Path>, version: &'a PluginVersion) -> Option<()> {
    if let Some(path) = version.source.as_deref() {
        if last.is_some_and(|last| last >= path) {
            return None;
        }
        *last = Some(path);
    }
    Some(())
}

/// The adapters whose pin or disabled versions differ between two policies.
pub(super) fn changed_policy<'a>(
    before: &'a OperatorPolicy,
    after: &'a OperatorPolicy,
    changed: &mut BTreeSet<&'a str>,
) {
    for (name, pin) in &after.adapter_pins {
        if before.adapter_pins.get(name) != Some(pin) {
            changed.insert(name);
        }
    }
    for (name, disabled) in &after.disabled {
        if before.disabled.get(name) != Some(disabled) {
            changed.insert(name);
        }
    }
    for name in before.adapter_pins.keys() {
        if !after.adapter_pins.contains_key(name) {
            changed.insert(name);
        }
    }
    for name in before.disabled.keys() {
        if !after.disabled.contains_key(name) {
            changed.insert(name);
        }
    }
}
