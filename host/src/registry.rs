//! Every plugin version the host knows, its state, and the publication of routing tables.
//!
//! The registry is the control plane: it is locked only by deploys and admin reads. After
//! each change it builds a fresh [`RoutingTable`] and swaps it in atomically; the request
//! path only ever reads the current table. **Invariant:** a version that failed any check is
//! never in a published table; the version that served before it stays there.

mod binding;
mod fingerprint;
mod fits;
mod version;

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
    time::SystemTime,
};

use arc_swap::{ArcSwap, Guard};
use frontdoor_plugin_api::PluginKind;

pub use binding::Binding;
pub use version::{BuiltinHandler, Handler, InflightGuard, PluginVersion, VersionState};

use binding::Resolution;
use fingerprint::Fingerprint;

use crate::{
    loader,
    router::{AdapterVersions, Routed, RoutingTable},
};

/// Tunables of the registry.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// Where private copies of artifacts are written before they are opened.
    pub copies_dir: PathBuf,
    /// How many retired versions may stay mapped before the host warns.
    pub retired_limit: usize,
}

/// One loaded version as the admin API reports it.
pub struct VersionReport {
    pub version: Arc<PluginVersion>,
    pub state: VersionState,
    /// Why it is `failed` (its shared-module requirements could not be bound).
    pub reason: Option<String>,
    /// For each requirement, the module version it is bound to (if bound).
    pub bindings: Vec<Option<String>>,
    /// For a shared module, the plugin versions bound to it.
    pub bound_by: Vec<String>,
}

/// A file that could not be deployed, with the one-line reason.
#[derive(Debug, Clone)]
pub struct Failure {
    pub file: PathBuf,
    /// `name@version` when the manifest could be read.
    pub plugin: Option<String>,
    pub reason: String,
    pub at: SystemTime,
}

pub struct Registry {
    config: RegistryConfig,
    /// Serialises deploys and removals (the deployer thread and start-up may both sync a
    /// file); held across a load, unlike `state`, which request-adjacent readers take.
    deploying: Mutex<()>,
    state: Mutex<RegistryState>,
    table: ArcSwap<RoutingTable>,
}

#[derive(Default)]
struct RegistryState {
    /// The version currently loaded from each artifact file.
    live: BTreeMap<PathBuf, Arc<PluginVersion>>,
    /// Compiled-in handlers (the static benchmark baseline), routed like adapters.
    builtins: Vec<Arc<PluginVersion>>,
    /// Versions whose file was removed or replaced: draining, then retired, mapped forever.
    retired: Vec<Arc<PluginVersion>>,
    /// The last failure of each file that is still in the directory.
    failed: BTreeMap<PathBuf, Failure>,
    /// What each file looked like when it was last deployed (or refused), so an event or a
    /// reconcile for an unchanged file does nothing.
    fingerprints: HashMap<PathBuf, Fingerprint>,
    /// The shared-module bindings of the last publication.
    resolution: Resolution,
}

/// Everything `/admin/plugins` shows, taken under one lock so it is consistent.
pub struct Snapshot {
    pub versions: Vec<VersionReport>,
    pub failures: Vec<Failure>,
    pub retired_count: usize,
    pub retired_bytes: u64,
    pub retired_limit: usize,
}

impl Registry {
    pub fn new(config: RegistryConfig) -> Self {
        Self {
            config,
            deploying: Mutex::new(()),
            state: Mutex::new(RegistryState::default()),
            table: ArcSwap::from_pointee(RoutingTable::default()),
        }
    }

    /// The current routing table (lock-free; cheap enough for every request).
    pub fn table(&self) -> Guard<Arc<RoutingTable>> {
        self.table.load()
    }

    /// Adds a compiled-in handler set, routed under its own name.
    pub fn add_builtin(&self, version: PluginVersion) {
        let mut state = self.lock();
        state.builtins.push(Arc::new(version));
        self.publish(&mut state);
    }

    /// Deploys the artifact at `path`, new or replaced (the caller holds `deploying`). On
    /// failure the file is recorded as failed and whatever served before keeps serving.
    fn deploy_locked(&self, path: &Path) -> Result<Arc<PluginVersion>, String> {
        let fingerprint = std::fs::metadata(path)
            .ok()
            .map(|metadata| Fingerprint::of(&metadata));
        // Loading (file read, dlopen, plugin init) happens outside the lock: admin reads and
        // other bookkeeping are never blocked behind a slow disk.
        let loaded = loader::load_library(path, &self.config.copies_dir);
        let mut state = self.lock();
        match fingerprint {
            Some(fingerprint) => state.fingerprints.insert(path.to_owned(), fingerprint),
            None => state.fingerprints.remove(path),
        };
        let outcome = loaded
            .map_err(|error| (None, error.to_string()))
            .and_then(|library| {
                let label = library.identity.label.clone();
                fits::check_fits(&state, path, &library)
                    .map_err(|reason| (Some(label.clone()), reason))?;
                Ok(Arc::new(PluginVersion::from_library(path, library)))
            });
        match outcome {
            Ok(version) => {
                state.failed.remove(path);
                if let Some(previous) = state.live.insert(path.to_owned(), version.clone()) {
                    tracing::info!(
                        file = %path.display(),
                        previous = %previous.identity.label,
                        "artifact replaced; the previous build drains"
                    );
                    self.retire(&mut state, previous);
                }
                tracing::info!(plugin = %version.identity.label, file = %path.display(), "plugin loaded");
                self.publish(&mut state);
                Ok(version)
            }
            Err((plugin, reason)) => {
                tracing::warn!(
                    file = %path.display(),
                    plugin = plugin.as_deref().unwrap_or("unknown"),
                    %reason,
                    "artifact refused; whatever served before keeps serving"
                );
                state.failed.insert(
                    path.to_owned(),
                    Failure {
                        file: path.to_owned(),
                        plugin,
                        reason: reason.clone(),
                        at: SystemTime::now(),
                    },
                );
                Err(reason)
            }
        }
    }

    /// The artifact at `path` was removed: its version stops taking new requests, finishes
    /// the ones in flight, then retires.
    pub fn remove_file(&self, path: &Path) {
        let _deploying = self
            .deploying
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.remove_locked(path);
    }

    fn remove_locked(&self, path: &Path) {
        let mut state = self.lock();
        state.failed.remove(path);
        state.fingerprints.remove(path);
        if let Some(previous) = state.live.remove(path) {
            tracing::info!(plugin = %previous.identity.label, file = %path.display(), "artifact removed; draining");
            self.retire(&mut state, previous);
            self.publish(&mut state);
        }
    }

    /// Brings one path in line with the disk: deploys it if it is new or changed since it
    /// was last deployed (or refused), retires its version if the file is gone.
    pub fn sync_file(&self, path: &Path) {
        let _deploying = self
            .deploying
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match std::fs::metadata(path) {
            Ok(metadata) if metadata.is_file() => {
                let unchanged =
                    self.lock().fingerprints.get(path) == Some(&Fingerprint::of(&metadata));
                if !unchanged {
                    let _ = self.deploy_locked(path);
                }
            }
            Ok(_) => self.remove_locked(path),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => self.remove_locked(path),
            Err(error) => tracing::warn!(file = %path.display(), %error, "cannot inspect artifact"),
        }
    }

    /// The files currently deployed (loaded or failed), for reconciling with the directory.
    pub fn known_files(&self) -> Vec<PathBuf> {
        let state = self.lock();
        state
            .live
            .keys()
            .chain(state.failed.keys())
            .cloned()
            .collect()
    }

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
                let reason = resolution.unresolved(version).map(str::to_owned);
                let is_bound = bound.contains(&(Arc::as_ptr(version) as usize));
                let state = if version.is_removed() {
                    if version.in_flight() > 0 || is_bound {
                        VersionState::Draining
                    } else {
                        VersionState::Retired
                    }
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
        }
    }

    fn lock(&self) -> MutexGuard<'_, RegistryState> {
        // A panic while holding this lock leaves plain data behind, still consistent enough
        // to serve and to report; refusing every later deploy would be worse.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn retire(&self, state: &mut RegistryState, version: Arc<PluginVersion>) {
        version.mark_removed();
        state.retired.push(version);
        if state.retired.len() > self.config.retired_limit {
            let bytes: u64 = state.retired.iter().map(|v| v.file_bytes).sum();
            tracing::warn!(
                retired = state.retired.len(),
                limit = self.config.retired_limit,
                mapped_bytes = bytes,
                "retired plugin versions stay mapped (plugins are never unloaded); past the limit, \
                 restart the host to reclaim their memory"
            );
        }
    }

    /// Re-binds shared modules, builds the routing table from the live versions whose
    /// requirements are bound, and swaps it in.
    fn publish(&self, state: &mut RegistryState) {
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
