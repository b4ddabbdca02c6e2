//! The routing table: adapter namespace → loaded versions → route patterns.
//!
//! A table is immutable once built; the registry publishes a new one atomically on every
//! change, so the request path reads it without a lock. Each adapter's entry is shared
//! (`Arc`), so a publication that leaves an adapter unchanged hands the next table the same
//! entry instead of building another.

use std::{collections::HashMap, sync::Arc};

use abi_stable::std_types::RArc;
use frontdoor_plugin_api::BindingSet;

use crate::registry::PluginVersion;

mod policy;
pub use policy::OperatorPolicy;

// Route patterns live in the plugin API, so the SDK's test kit matches exactly as the host
// does.
pub use frontdoor_plugin_api::routing::{Params, RouteMatch, RoutePattern, RouteTree, match_route};

/// Adapters by namespace. Hashed with foldhash, not std's SipHash: the table is looked up
/// on every device request (SipHash cost about 190 instructions for a short namespace), and
/// its keys are the operator's adapter names, which no device can choose.
pub type AdapterEntries = HashMap<Arc<str>, Arc<AdapterVersions>, foldhash::fast::RandomState>;

/// An immutable snapshot of everything routable.
#[derive(Default)]
pub struct RoutingTable {
    adapters: AdapterEntries,
}

/// The versions of one adapter that take new requests, highest first.
#[derive(Default, Clone)]
pub struct AdapterVersions {
    pub versions: Vec<Routed>,
    /// The index in `versions` of the version operators pinned as the default, computed at
    /// publication so a pin costs a request nothing.
    pub pinned: Option<usize>,
}

/// A routable version with the shared modules bound to it at this publication.
#[derive(Clone)]
pub struct Routed {
    pub version: Arc<PluginVersion>,
    /// Its bindings as the plugin reads them per request: each bound module with its own
    /// bindings, at every depth, fixed for the life of this table (and of every request
    /// that took its version from it).
    pub modules: RArc<BindingSet>,
    /// Every module version those bindings reach, so a request counts itself in each.
    pub in_use: Arc<[Arc<PluginVersion>]>,
}

impl Routed {
    pub fn new(
        version: Arc<PluginVersion>,
        modules: RArc<BindingSet>,
        in_use: Arc<[Arc<PluginVersion>]>,
    ) -> Self {
        Self {
            version,
            modules,
            in_use,
        }
    }
}

impl RoutingTable {
    pub fn new(adapters: AdapterEntries) -> Self {
        Self { adapters }
    }

    /// The adapter serving namespace `name`: one hash lookup, however many are loaded.
    pub fn adapter(&self, name: &str) -> Option<&AdapterVersions> {
        self.adapters.get(name).map(|adapter| &**adapter)
    }

    /// The shared entry of adapter `name`, for a publication that keeps it.
    pub fn entry(&self, name: &str) -> Option<(&Arc<str>, &Arc<AdapterVersions>)> {
        self.adapters.get_key_value(name)
    }

    /// Every entry, to start the next publication's table from.
    pub fn entries(&self) -> &AdapterEntries {
        &self.adapters
    }

    /// Every routed adapter's versions (scrape time only: the request path looks up by name).
    pub fn adapters(&self) -> impl Iterator<Item = &AdapterVersions> {
        self.adapters.values().map(|adapter| &**adapter)
    }

    pub fn adapter_count(&self) -> usize {
        self.adapters.len()
    }

    /// True when `version` is its adapter's default (the highest healthy version).
    pub fn is_default(&self, version: &PluginVersion) -> bool {
        self.adapter(&version.identity.name)
            .and_then(|adapter| adapter.select(None))
            .is_some_and(|first| std::ptr::eq(Arc::as_ptr(&first.version), version))
    }
}

impl AdapterVersions {
    /// True when both route the same versions with the same bindings and the same pin:
    /// a publication keeps the entry it had.
    pub fn same_as(&self, other: &Self) -> bool {
        self.pinned == other.pinned
            && self.versions.len() == other.versions.len()
            && self.versions.iter().zip(&other.versions).all(|(a, b)| {
                Arc::ptr_eq(&a.version, &b.version)
                    && std::ptr::eq(&*a.modules, &*b.modules)
                    && Arc::ptr_eq(&a.in_use, &b.in_use)
            })
    }

    /// The default as published: the pinned version, else the highest, whatever their
    /// health now.
    pub fn published_default(&self) -> Option<&PluginVersion> {
        self.pinned
            .and_then(|index| self.versions.get(index))
            .or_else(|| self.versions.first())
            .map(|routed| &*routed.version)
    }

    /// The default version (the pinned one, else the highest), or the highest that
    /// satisfies `requirement`; quarantined versions take no requests, so the next one down
    /// takes their traffic (a quarantined pin falls back to the normal default).
    pub fn select(&self, requirement: Option<&semver::VersionReq>) -> Option<&Routed> {
        if requirement.is_none()
            && let Some(pinned) = self.pinned.and_then(|index| self.versions.get(index))
            && !pinned.version.health.is_quarantined()
        {
            return Some(pinned);
        }
        let mut healthy = self
            .versions
            .iter()
            .filter(|routed| !routed.version.health.is_quarantined());
        match requirement {
            None => healthy.next(),
            Some(req) => healthy.find(|routed| req.matches(&routed.version.identity.version)),
        }
    }
}
