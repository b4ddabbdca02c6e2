//! One loaded version of a plugin (or a compiled-in handler set) and its in-flight count.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::SystemTime,
};

use bytes::Bytes;
use frontdoor_plugin_api::{ModuleExport, PluginKind, PluginModuleRef};
use hyper::{Method, header::HeaderValue};

use crate::{
    containment::{HealthLimits, VersionHealth},
    loader::{LoadedLibrary, PluginIdentity, ValidRequirement},
    router::{RouteMatch, RoutePattern, RouteTree},
};

/// How requests reach a version's code.
pub enum Handler {
    /// Through the stable ABI into a loaded cdylib.
    Plugin(PluginModuleRef),
    /// A function compiled into the host (the benchmark baseline).
    Builtin(BuiltinHandler),
    /// A function compiled into the host that calls backends through the host's service
    /// layer, as an adapter does (the benchmark's fan-out baseline).
    BuiltinCalls(BuiltinCallsHandler),
}

/// A compiled-in handler: route id and raw query in, status and JSON body out.
pub type BuiltinHandler = fn(route: u32, query: &str) -> (u16, Bytes);

/// A compiled-in handler making backend calls: the backends and the device request's call
/// scope (deadline, request id, call log) in, status and JSON body out.
pub type BuiltinCallsHandler = fn(
    backends: Arc<crate::backends::Backends>,
    scope: Arc<crate::backends::RequestScope>,
) -> futures_util::future::BoxFuture<'static, (u16, Bytes)>;

/// Where a version is in its life, as shown by `/admin/plugins`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionState {
    /// The default version of its plugin: takes requests without a version header.
    Active,
    /// Loaded and routable by `x-frontdoor-version`, but not the default.
    Standby,
    /// Its file is gone: takes no new requests, finishing the ones in flight.
    Draining,
    /// Drained; its code stays mapped (never unloaded).
    Retired,
    /// Loaded, but its shared-module requirements cannot be bound: takes no requests.
    Failed,
    /// Taken out of traffic for panics, timeouts, blocked polls or memory growth.
    Quarantined,
    /// Taken out of all traffic by an operator (`/admin/adapters/{name}/versions/{v}/disable`).
    Disabled,
}

impl VersionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Standby => "standby",
            Self::Draining => "draining",
            Self::Retired => "retired",
            Self::Failed => "failed",
            Self::Quarantined => "quarantined",
            Self::Disabled => "disabled",
        }
    }
}

pub struct PluginVersion {
    pub identity: Arc<PluginIdentity>,
    pub kind: PluginKind,
    /// The artifact in the plugins directory (`None` for compiled-in handlers).
    pub source: Option<PathBuf>,
    /// The private copy that was opened.
    pub mapped_copy: Option<PathBuf>,
    pub file_bytes: u64,
    pub sdk_version: String,
    pub routes: Vec<(Method, RoutePattern)>,
    /// `routes` compiled for matching, once, here: requests only walk it.
    route_tree: RouteTree<Method>,
    pub requires: Vec<ValidRequirement>,
    /// A shared module's exported interface.
    pub export: Option<ModuleExport>,
    pub handler: Handler,
    /// Its failures, quarantine and sampled heap (shared with the watchdog, never freed).
    pub health: &'static VersionHealth,
    /// `x-frontdoor-adapter` for every response of this version, built once.
    pub adapter_header: HeaderValue,
    /// The headers each of its answers starts with (`response_head.rs`).
    pub response_head: crate::response_head::ResponseHead,
    /// Its request counters per route, built once so a request looks up no label (never
    /// freed, like `health`).
    pub series: &'static crate::metrics::VersionSeries,
    pub loaded_at: SystemTime,
    in_flight: AtomicUsize,
    removed: AtomicBool,
}

impl PluginVersion {
    pub(super) fn from_library(
        source: &Path,
        library: LoadedLibrary,
        health: impl FnOnce(&str, Vec<String>) -> &'static VersionHealth,
    ) -> Self {
        let manifest = library.manifest;
        let routes: Vec<(Method, RoutePattern)> = manifest
            .routes
            .into_iter()
            .map(|r| (r.method, r.pattern))
            .collect();
        let health = health(&library.identity.label, route_names(&routes));
        let mut version = Self::new(
            library.identity,
            manifest.kind,
            routes,
            Handler::Plugin(library.module),
            health,
        )
        .with_files(
            source,
            library.mapped_copy,
            library.file_bytes,
            manifest.sdk_version,
            manifest.requires,
        );
        version.export = library.export;
        version
    }

    /// A version served by code compiled into the host.
    pub fn builtin(
        name: &str,
        version: &semver::Version,
        routes: &[(Method, &str)],
        handler: BuiltinHandler,
    ) -> Self {
        Self::compiled_in(name, version, routes, Handler::Builtin(handler))
    }

    /// A version served by code compiled into the host that calls backends.
    pub fn builtin_calls(
        name: &str,
        version: &semver::Version,
        routes: &[(Method, &str)],
        handler: BuiltinCallsHandler,
    ) -> Self {
        Self::compiled_in(name, version, routes, Handler::BuiltinCalls(handler))
    }

    fn compiled_in(
        name: &str,
        version: &semver::Version,
        routes: &[(Method, &str)],
        handler: Handler,
    ) -> Self {
        let routes: Vec<(Method, RoutePattern)> = routes
            .iter()
            .map(|(method, path)| {
                let pattern = RoutePattern::parse(path).unwrap_or_else(|reason| {
                    unreachable!("built-in route {path} is invalid: {reason}")
                });
                (method.clone(), pattern)
            })
            .collect();
        let identity = Arc::new(PluginIdentity::new(name, version));
        // Compiled-in code is the host's own: judged by the default limits, never notified.
        let defaults = crate::containment::ContainmentConfig::default();
        let health = VersionHealth::leak(
            identity.label.clone(),
            route_names(&routes),
            HealthLimits {
                quarantine: defaults.quarantine,
                max_poll: defaults.max_poll,
                memory_limit: defaults.memory_limit_bytes,
            },
            None,
        );
        Self::new(identity, PluginKind::Adapter, routes, handler, health)
    }

    fn new(
        identity: Arc<PluginIdentity>,
        kind: PluginKind,
        routes: Vec<(Method, RoutePattern)>,
        handler: Handler,
        health: &'static VersionHealth,
    ) -> Self {
        // Names and versions were validated (a-z0-9-_ and semver), so this is a valid value.
        let adapter_header = HeaderValue::from_str(&identity.label)
            .unwrap_or_else(|_| HeaderValue::from_static("invalid"));
        let series = crate::metrics::VersionSeries::leak(route_names(&routes));
        Self {
            identity,
            kind,
            source: None,
            mapped_copy: None,
            file_bytes: 0,
            // Compiled-in handlers use no SDK; plugins overwrite this from their manifest.
            sdk_version: "builtin".to_owned(),
            route_tree: RouteTree::new(&routes),
            routes,
            requires: Vec::new(),
            export: None,
            handler,
            health,
            response_head: crate::response_head::ResponseHead::new(adapter_header.clone()),
            adapter_header,
            series,
            loaded_at: SystemTime::now(),
            in_flight: AtomicUsize::new(0),
            removed: AtomicBool::new(false),
        }
    }

    fn with_files(
        mut self,
        source: &Path,
        mapped_copy: PathBuf,
        file_bytes: u64,
        sdk_version: String,
        requires: Vec<ValidRequirement>,
    ) -> Self {
        self.source = Some(source.to_owned());
        self.mapped_copy = Some(mapped_copy);
        self.file_bytes = file_bytes;
        self.sdk_version = sdk_version;
        self.requires = requires;
        self
    }

    /// The route `method` and `path` (below the namespace) resolve to, by the tree built
    /// when this version was loaded.
    pub fn route(&self, method: &Method, path: &str) -> RouteMatch {
        self.route_tree.find(method, path)
    }

    /// Requests running in this version right now (for a shared module: requests of the
    /// adapters bound to it).
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    pub(super) fn mark_removed(&self) {
        self.removed.store(true, Ordering::Release);
    }

    /// True once its file was removed or replaced: it takes no new requests.
    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }
}

/// Counts one request in a version for as long as it lives; holding it keeps the version's
/// record alive even after the version was removed from the routing table.
pub struct InflightGuard {
    version: Arc<PluginVersion>,
}

impl InflightGuard {
    pub fn enter(version: Arc<PluginVersion>) -> Self {
        version.in_flight.fetch_add(1, Ordering::AcqRel);
        version.health.count_request();
        Self { version }
    }

    pub fn version(&self) -> &Arc<PluginVersion> {
        &self.version
    }
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.version.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `METHOD /pattern` of each route, for log lines about a route by index.
fn route_names(routes: &[(Method, RoutePattern)]) -> Vec<String> {
    routes
        .iter()
        .map(|(method, pattern)| format!("{method} {pattern}"))
        .collect()
}
