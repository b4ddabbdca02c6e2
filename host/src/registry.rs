//! Every plugin version the host knows, its state, and the publication of routing tables.
//!
//! The registry is the control plane: it is locked only by deploys and admin reads. After
//! each change it builds a fresh [`RoutingTable`] and swaps it in atomically; the request
//! path only ever reads the current table. **Invariant:** a version that failed any check is
//! never in a published table; the version that served before it stays there.

mod admission;
mod binding;
mod bundle_deploy;
mod fingerprint;
mod publication;
mod report;
#[cfg(test)]
pub(crate) mod test_registry;
mod version;

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::SystemTime,
};

use arc_swap::{ArcSwap, Guard};

pub use binding::Binding;
pub use bundle_deploy::{Bundle, BundleMember};
pub use report::{Snapshot, VersionReport};
pub use version::{
    BuiltinCallsHandler, BuiltinHandler, Handler, InflightGuard, PluginVersion, VersionState,
};

use binding::Resolution;
use fingerprint::Fingerprint;

use crate::{
    containment::{ContainmentConfig, HealthLimits, VersionHealth, monitor::MonitorMessage},
    loader,
    router::{OperatorPolicy, RoutingTable},
};

/// Tunables of the registry.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// Opens artifacts (private copies, probe, load markers).
    pub loader: Arc<loader::Loader>,
    /// How many retired versions may stay mapped before the host warns.
    pub retired_limit: usize,
    /// Limits every loaded version is judged by (quarantine, memory, mapped libraries).
    pub containment: ContainmentConfig,
    /// Where versions report that they were quarantined (the host's monitor thread).
    pub notices: Option<crossbeam_channel::Sender<MonitorMessage>>,
    /// What new versions' warm-ups run with; `None`: a version that declares one fails.
    pub warmup: Option<loader::WarmupServices>,
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
    /// Restarts of the deployer thread after a panic (shown in `/admin/health`).
    deployer_restarts: AtomicU64,
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
    /// Each bundle manifest's and members' fingerprints when the bundle was last tried.
    bundles: HashMap<PathBuf, Vec<Option<Fingerprint>>>,
    /// Libraries mapped into the process: never unmapped, so counted and capped.
    mapped: MappedLibraries,
    /// Operators' pins and disabled versions, applied at each publication.
    policy: OperatorPolicy,
    /// Per adapter, the default version before the last publication that changed it: what
    /// a rollback goes back to.
    previous_defaults: HashMap<String, semver::Version>,
    /// What the last publication was built from: the next one rebuilds what changed.
    published: publication::Published,
}

/// Every library `dlopen`ed into the process, loaded or refused after opening.
#[derive(Debug, Default, Clone, Copy)]
pub struct MappedLibraries {
    pub count: usize,
    /// Their file sizes, roughly what they cost in resident memory.
    pub bytes: u64,
}

impl MappedLibraries {
    fn add(&mut self, bytes: u64) {
        self.count += 1;
        self.bytes += bytes;
    }
}

impl Registry {
    pub fn new(config: RegistryConfig) -> Self {
        Self {
            config,
            deploying: Mutex::new(()),
            state: Mutex::new(RegistryState::default()),
            table: ArcSwap::from_pointee(RoutingTable::default()),
            deployer_restarts: AtomicU64::new(0),
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
        let fingerprint = Fingerprint::of_path(path).ok();
        let cap = self.config.containment.max_mapped_libraries;
        let mapped = self.lock().mapped;
        // Loading (file read, dlopen, plugin init) happens outside the lock: admin reads and
        // other bookkeeping are never blocked behind a slow disk.
        let loaded = if mapped.count >= cap {
            Err(loader::LoadError::MappedLibraryCap {
                mapped: mapped.count,
                cap,
            })
        } else {
            // Warmed before anything is published: a version whose warm-up fails is never
            // routable.
            loader::load_library(path, &self.config.loader)
                .and_then(|library| loader::warm_up(library, self.config.warmup.as_ref()))
        };
        if let Ok(library) = &loaded {
            self.check_interfaces(library);
        }
        let mut state = self.lock();
        match fingerprint {
            Some(fingerprint) => state.fingerprints.insert(path.to_owned(), fingerprint),
            None => state.fingerprints.remove(path),
        };
        match &loaded {
            Ok(library) => state.mapped.add(library.file_bytes),
            Err(error) => {
                if let Some(bytes) = error.mapped_bytes() {
                    state.mapped.add(bytes);
                }
            }
        }
        let outcome = loaded
            .map_err(|error| (error.plugin().map(str::to_owned), error.to_string()))
            .and_then(|library| {
                let label = library.identity.label.clone();
                admission::check_admission(&state, path, &library)
                    .map_err(|reason| (Some(label.clone()), reason))?;
                let health = |label: &str, routes| self.new_health(label, routes);
                Ok(Arc::new(PluginVersion::from_library(path, library, health)))
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
        bundle_deploy::forget(&mut state, path);
        if let Some(previous) = state.live.remove(path) {
            tracing::info!(plugin = %previous.identity.label, file = %path.display(), "artifact removed; draining");
            self.retire(&mut state, previous);
            self.publish(&mut state);
        }
    }

    /// Brings one path in line with the disk: deploys it if it is new or changed since it
    /// was last deployed (or refused), retires its version if the file is gone. False when
    /// there was nothing to do: what another caller (the start-up reconcile, holding the
    /// same lock) brought in line while this one waited counts once.
    pub fn sync_file(&self, path: &Path) -> bool {
        let _deploying = self
            .deploying
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Whatever is there under an artifact's name is tried, so a symlink, a directory or a
        // FIFO is refused with a reason instead of being skipped in silence.
        match Fingerprint::of_path(path) {
            Ok(fingerprint) => {
                let mut state = self.lock();
                let known = state.fingerprints.get(path).copied();
                if known == Some(fingerprint) {
                    return false;
                }
                // A loaded file whose mode or owner changed keeps serving what is mapped
                // (a new content would be vetted when it comes): no reload.
                let serving = state.live.contains_key(path) && !state.failed.contains_key(path);
                if serving && known.is_some_and(|known| known.same_content(&fingerprint)) {
                    state.fingerprints.insert(path.to_owned(), fingerprint);
                    return false;
                }
                drop(state);
                let _ = self.deploy_locked(path);
                true
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                self.remove_locked(path);
                true
            }
            Err(_) => {
                let _ = self.deploy_locked(path);
                true
            }
        }
    }

    /// True when `path` looks as it did when last deployed or refused (a sync does nothing).
    pub fn is_unchanged(&self, path: &Path) -> bool {
        Fingerprint::of_path(path)
            .is_ok_and(|fingerprint| self.lock().fingerprints.get(path) == Some(&fingerprint))
    }

    /// Records `path` as refused with `reason`, as it looks now: it is not tried again
    /// until it changes (the deployer's way to keep a file that crashed it from doing so
    /// again).
    pub fn refuse(&self, path: &Path, reason: String) {
        let fingerprint = Fingerprint::of_path(path).ok();
        let mut state = self.lock();
        if let Some(fingerprint) = fingerprint {
            state.fingerprints.insert(path.to_owned(), fingerprint);
        }
        tracing::warn!(file = %path.display(), %reason, "artifact refused");
        state.failed.insert(
            path.to_owned(),
            Failure {
                file: path.to_owned(),
                plugin: None,
                reason,
                at: SystemTime::now(),
            },
        );
    }

    /// Counts one restart of the deployer thread after a panic; returns the count.
    pub fn note_deployer_restart(&self) -> u64 {
        self.deployer_restarts.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// How often the deployer thread was restarted after a panic.
    pub fn deployer_restarts(&self) -> u64 {
        self.deployer_restarts.load(Ordering::Relaxed)
    }

    /// Publishes again: a version's health changed (quarantine), so defaults, bindings and
    /// reports follow.
    pub fn republish(&self) {
        let mut state = self.lock();
        self.publish(&mut state);
    }

    /// The version that was `adapter`'s default before its default last changed (by a
    /// deploy, a removal, a pin or a disable), if it ever did.
    pub fn previous_default(&self, adapter: &str) -> Option<semver::Version> {
        self.lock().previous_defaults.get(adapter).cloned()
    }

    /// Replaces operators' pins and disabled versions and publishes a table that follows them.
    pub fn set_policy(&self, policy: OperatorPolicy) {
        let mut state = self.lock();
        state.policy = policy;
        self.publish(&mut state);
    }

    /// Every version whose code is loaded: live, built in and retired (for sampling).
    pub fn loaded_versions(&self) -> Vec<Arc<PluginVersion>> {
        let state = self.lock();
        state
            .builtins
            .iter()
            .chain(state.live.values())
            .chain(&state.retired)
            .cloned()
            .collect()
    }

    /// The libraries mapped so far.
    pub fn mapped_libraries(&self) -> MappedLibraries {
        self.lock().mapped
    }

    /// A health record for a newly loaded version of `label` with `routes`.
    fn new_health(&self, label: &str, routes: Vec<String>) -> &'static VersionHealth {
        let containment = &self.config.containment;
        let name = label.split_once('@').map_or(label, |(name, _)| name);
        VersionHealth::leak(
            label.to_owned(),
            routes,
            HealthLimits {
                quarantine: containment.quarantine.clone(),
                max_poll: containment.max_poll,
                memory_limit: containment.memory_limit(name),
            },
            self.config.notices.clone(),
        )
    }

    /// Forgets what the refused files looked like, so the next sync tries each again: what
    /// made them fail may lie outside the file (the plugins directory's mode or owner).
    pub fn retry_failed(&self) {
        let mut state = self.lock();
        let RegistryState {
            failed,
            fingerprints,
            ..
        } = &mut *state;
        fingerprints.retain(|path, _| !failed.contains_key(path));
    }

    /// The loader this registry deploys with.
    pub fn loader(&self) -> &loader::Loader {
        &self.config.loader
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
}

#[cfg(test)]
mod sync_tests {
    //! What `sync_file` reports: whether it had anything to do.

    use super::test_registry::registry;

    #[test]
    fn a_sync_reports_whether_the_file_needed_one() {
        let root = tempfile::tempdir().expect("tempdir");
        let registry = registry(root.path());
        let dir = root.path().join("plugins");
        std::fs::create_dir(&dir).expect("plugins dir");
        let path = dir.join("garbage.so");
        std::fs::write(&path, b"not an ELF file").expect("write");
        assert!(
            registry.sync_file(&path),
            "a new file is tried (and refused)"
        );
        // The start-up reconcile and the deployer can both come to the same file; the one
        // that comes second finds it in line and must not count a reload.
        assert!(!registry.sync_file(&path), "unchanged: nothing to do");
        std::fs::write(&path, b"still not an ELF file, longer").expect("rewrite");
        assert!(registry.sync_file(&path), "changed: tried again");
        std::fs::remove_file(&path).expect("remove");
        assert!(registry.sync_file(&path), "gone: forgotten");
    }
}
