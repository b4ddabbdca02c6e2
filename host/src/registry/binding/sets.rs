//! The bindings as plugins read them: per publication, one immutable [`BindingSet`] per
//! plugin version, each binding carrying the bound module's own set. An adapter's set is
//! the root of a tree a request holds (through its routing table snapshot) for its whole
//! life: **a request sees one set of module versions at every depth.**

use std::sync::Arc;

use abi_stable::std_types::RArc;
use frontdoor_plugin_api::{BindingSet, BoundModule};

use super::{Resolution, key};
use crate::registry::PluginVersion;

/// What a routed version carries: its binding tree, and every module version in it.
#[derive(Clone)]
pub struct Bound {
    pub set: RArc<BindingSet>,
    /// Each module version reachable from `set`, once: a request counts itself in each.
    pub in_use: Arc<[Arc<PluginVersion>]>,
}

impl Default for Bound {
    /// The tree of a version that requires nothing.
    fn default() -> Self {
        Self {
            set: RArc::new(BindingSet::empty()),
            in_use: Arc::from([]),
        }
    }
}

/// The trees built so far, by version: `None` while a version's set is being built, and for
/// versions that cannot be bound.
pub type BuiltSets = super::by_address::ByAddress<Option<Bound>>;

/// Builds the binding sets of one resolution, each version's once; the trees of versions
/// whose outcomes the resolution carried over are the ones built before.
pub struct BindingSets<'a> {
    resolution: &'a Resolution,
    built: BuiltSets,
    nothing: Bound,
}

impl<'a> BindingSets<'a> {
    pub fn new(resolution: &'a Resolution) -> Self {
        Self {
            resolution,
            built: resolution.sets.clone(),
            nothing: resolution.nothing.clone(),
        }
    }

    /// The trees built, for the resolution to carry into the next one
    /// ([`Resolution::keep_sets`]).
    pub fn finish(self) -> BuiltSets {
        self.built
    }

    /// The binding tree of `version`; `None` when its requirements are not all bound, or
    /// when following its bindings leads back to it (the resolver refuses cycles, but a
    /// binding kept from an earlier resolution can close one).
    pub fn of(&mut self, version: &PluginVersion) -> Option<Bound> {
        if let Some(done) = self.built.get(&key(version)) {
            return done.clone();
        }
        let bindings = self.resolution.bindings(version)?;
        if bindings.is_empty() {
            return Some(self.nothing.clone());
        }
        self.built.insert(key(version), None);
        let mut modules = Vec::with_capacity(bindings.len());
        let mut in_use: Vec<Arc<PluginVersion>> = Vec::new();
        let mut add = |module: &Arc<PluginVersion>| {
            if !in_use.iter().any(|seen| Arc::ptr_eq(seen, module)) {
                in_use.push(module.clone());
            }
        };
        for binding in bindings.iter() {
            let dependencies = self.of(&binding.module)?;
            add(&binding.module);
            dependencies.in_use.iter().for_each(&mut add);
            modules.push(BoundModule::new(&binding.interface, dependencies.set));
        }
        let bound = Bound {
            set: RArc::new(BindingSet::new(modules)),
            in_use: in_use.into(),
        };
        self.built.insert(key(version), Some(bound.clone()));
        Some(bound)
    }
}
