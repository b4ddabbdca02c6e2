//! Every plugin version the host knows, its state, and the publication of routing tables.
//!
//! The registry is the control plane: it is locked only by deploys and admin reads. After
//! each change it builds a fresh [`RoutingTable`] and swaps it in atomically; the request
//! path only ever reads the current table. **Invariant:** a version that failed any check is
//! never in a published table; the version that served before it stays there.

mod version;

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
    time::SystemTime,
};

use arc_swap::{ArcSwap, Guard};
use frontdoor_plugin_api::PluginKind;

pub use version::{BuiltinHandler, Handler, InflightGuard, PluginVersion, VersionState};

use crate::{
    loader,
    router::{AdapterVersions, RoutingTable},
};

/// Tunables of the registry.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// Where private copies of artifacts are written before they are opened.
    pub copies_dir: PathBuf,
    /// How many retired versions may stay mapped before the host warns.
    pub retired_limit: usize,
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
}

/// Identity of a file's content as far as the file system tells: a rename brings a new
/// inode, a rewrite a new size or modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    device: u64,
    inode: u64,
    len: u64,
    modified_ns: i128,
}

impl Fingerprint {
    fn of(metadata: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt as _;
        Self {
            device: metadata.dev(),
            inode: metadata.ino(),
            len: metadata.len(),
            modified_ns: i128::from(metadata.mtime()) * 1_000_000_000
                + i128::from(metadata.mtime_nsec()),
        }
    }
}

/// Everything `/admin/plugins` shows, taken under one lock so it is consistent.
pub struct Snapshot {
    pub versions: Vec<(Arc<PluginVersion>, VersionState)>,
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
        self.publish(&state);
    }

    /// Deploys the artifact at `path`, new or replaced. On failure the file is recorded as
    /// failed and whatever served before keeps serving.
    pub fn deploy_file(&self, path: &Path) -> Result<Arc<PluginVersion>, String> {
        let _deploying = self
            .deploying
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.deploy_locked(path)
    }

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
                check_fits(&state, path, &library)
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
                self.publish(&state);
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
            self.publish(&state);
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
        let state_of = |version: &Arc<PluginVersion>| version.state(&table);
        let mut versions: Vec<_> = state
            .builtins
            .iter()
            .chain(state.live.values())
            .chain(&state.retired)
            .map(|version| (version.clone(), state_of(version)))
            .collect();
        versions.sort_by(|(a, _), (b, _)| {
            a.identity
                .name
                .cmp(&b.identity.name)
                .then_with(|| b.identity.version.cmp_precedence(&a.identity.version))
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

    /// Builds the routing table from the live versions and swaps it in.
    fn publish(&self, state: &RegistryState) {
        let mut adapters: HashMap<Box<str>, AdapterVersions> = HashMap::new();
        for version in state.builtins.iter().chain(state.live.values()) {
            if version.kind != PluginKind::Adapter {
                continue;
            }
            adapters
                .entry(version.identity.name.as_str().into())
                .or_insert_with(|| AdapterVersions {
                    versions: Vec::new(),
                })
                .versions
                .push(version.clone());
        }
        for adapter in adapters.values_mut() {
            adapter
                .versions
                .sort_by(|a, b| b.identity.version.cmp_precedence(&a.identity.version));
        }
        self.table.store(Arc::new(RoutingTable::new(adapters)));
    }
}

/// Registry-level checks on a library that loaded fine on its own.
fn check_fits(
    state: &RegistryState,
    path: &Path,
    library: &loader::LoadedLibrary,
) -> Result<(), String> {
    let identity = &library.identity;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let stem = file_name.strip_suffix(".so").unwrap_or(&file_name);
    let named_after_plugin = stem == identity.name
        || stem
            .strip_prefix(identity.name.as_str())
            .is_some_and(|rest| rest.starts_with('-'));
    if !named_after_plugin {
        return Err(format!(
            "file {file_name} contains {}; artifacts must be named {}-{{version}}.so",
            identity.label, identity.name
        ));
    }
    if let Some(previous) = state.live.get(path)
        && previous.identity.name != identity.name
    {
        return Err(format!(
            "this file held {} and now declares {}: a file cannot change plugin",
            previous.identity.label, identity.label
        ));
    }
    let clash = state.builtins.iter().chain(
        state
            .live
            .iter()
            .filter(|(p, _)| p.as_path() != path)
            .map(|(_, v)| v),
    );
    for other in clash {
        if other.identity.name != identity.name {
            continue;
        }
        if other.kind != library.manifest.kind {
            return Err(format!(
                "{} is already loaded as another kind of plugin",
                identity.name
            ));
        }
        if other
            .identity
            .version
            .cmp_precedence(&identity.version)
            .is_eq()
        {
            let from = other
                .source
                .as_deref()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "the host itself".into());
            return Err(format!(
                "duplicate: {} is already loaded from {from}; versions are immutable, bump the version to ship a change",
                identity.label
            ));
        }
    }
    Ok(())
}
