//! Group deploy: the members of a bundle are loaded, checked and warmed one by one, then
//! published together in one routing table, or none of them is.
//!
//! **Invariant:** a bundle is published whole or not at all. Every member is loaded,
//! identity-checked, warmed and admitted before the state changes; the members are then put
//! in place together, resolved once as a trial, and either kept (one publication) or all
//! taken back (no publication), each member recording the one member that failed.

use std::{
    io::Read as _,
    path::{Path, PathBuf},
    sync::Arc,
    time::SystemTime,
};

use sha2::{Digest as _, Sha256};

use super::{
    Failure, PluginVersion, Registry, RegistryState, admission, binding, fingerprint::Fingerprint,
    publication,
};
use crate::loader::{self, ContentId};

/// A bundle as its manifest declares it (parsed and vetted by `deploy::bundle`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The manifest's name without `.bundle.toml`.
    pub name: String,
    pub manifest: PathBuf,
    pub members: Vec<BundleMember>,
    /// The manifest file the text was read from (inode, size, modification time), taken
    /// from the open file; `None` for a bundle parsed from text alone.
    pub read_from: Option<ContentId>,
}

/// One artifact of a bundle, in the plugins directory, with what it must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleMember {
    pub path: PathBuf,
    pub name: String,
    pub version: semver::Version,
    pub sha256: Option<[u8; 32]>,
}

impl BundleMember {
    fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// A member loaded and admitted, waiting for the others.
struct Staged {
    path: PathBuf,
    fingerprint: Fingerprint,
    version: Arc<PluginVersion>,
}

/// Which member failed, and why.
struct MemberFailure {
    file: String,
    reason: String,
}

impl Registry {
    /// Brings a bundle in line with the disk: if its manifest or any member changed since it
    /// was last tried, loads every changed member and publishes them all, or records for
    /// each why none was published.
    pub fn sync_bundle(&self, bundle: &Bundle) {
        let _deploying = self
            .deploying
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let seen: Vec<Option<Fingerprint>> = std::iter::once(&bundle.manifest)
            .chain(bundle.members.iter().map(|member| &member.path))
            .map(|path| Fingerprint::of_path(path).ok())
            .collect();
        let manifest_now = seen[0].map(|manifest| manifest.content());
        if bundle.read_from.is_some() && manifest_now != bundle.read_from {
            // The manifest was replaced after this text was read (a rename lands between
            // the read and here). Remembering the new file as tried with the old text would
            // make the new text look already tried when its own event brings it in.
            tracing::debug!(bundle = %bundle.name, "manifest replaced while read; its own event deploys it");
            return;
        }
        if self.lock().bundles.get(&bundle.manifest) == Some(&seen) {
            return;
        }
        let outcome = self.deploy_bundle(bundle);
        let mut state = self.lock();
        state.bundles.insert(bundle.manifest.clone(), seen);
        state.failed.remove(&bundle.manifest);
        state.fingerprints.remove(&bundle.manifest);
        match outcome {
            Ok(published) => {
                tracing::info!(bundle = %bundle.name, published, "bundle published");
            }
            Err((failure, tried)) => {
                let reason = format!(
                    "bundle {}: member {} failed: {}",
                    bundle.name, failure.file, failure.reason
                );
                tracing::warn!(bundle = %bundle.name, %reason, "bundle refused; nothing of it was published");
                for member in bundle.members.iter().filter(|m| tried.contains(&m.path)) {
                    if let Ok(fingerprint) = Fingerprint::of_path(&member.path) {
                        state.fingerprints.insert(member.path.clone(), fingerprint);
                    }
                    state.failed.insert(
                        member.path.clone(),
                        Failure {
                            file: member.path.clone(),
                            plugin: Some(member.label()),
                            reason: reason.clone(),
                            at: SystemTime::now(),
                        },
                    );
                }
            }
        }
    }

    /// Loads every member that is not already serving as it is on disk, then publishes them
    /// together. On failure: the failing member, and the members that were to be deployed.
    fn deploy_bundle(&self, bundle: &Bundle) -> Result<usize, (MemberFailure, Vec<PathBuf>)> {
        let to_deploy: Vec<&BundleMember> = bundle
            .members
            .iter()
            .filter(|member| !self.serves_unchanged(member))
            .collect();
        let tried = to_deploy.iter().map(|m| m.path.clone()).collect::<Vec<_>>();
        let mut staged: Vec<Staged> = Vec::new();
        for member in &to_deploy {
            let fail = |reason: String| {
                (
                    MemberFailure {
                        file: member.file_name(),
                        reason,
                    },
                    tried.clone(),
                )
            };
            staged.push(self.stage(member, &staged).map_err(fail)?);
        }
        let count = staged.len();
        self.publish_staged(staged)
            .map_err(|failure| (failure, tried))?;
        Ok(count)
    }

    /// True when `member` is live from this very file, as it is now, with the expected
    /// identity: an earlier deploy of the bundle (or of the file) already did its work.
    fn serves_unchanged(&self, member: &BundleMember) -> bool {
        let Ok(now) = Fingerprint::of_path(&member.path) else {
            return false;
        };
        let state = self.lock();
        let serving = state.live.get(&member.path).is_some_and(|version| {
            version.identity.name == member.name && version.identity.version == member.version
        });
        serving
            && !state.failed.contains_key(&member.path)
            && state.fingerprints.get(&member.path) == Some(&now)
    }

    /// Loads, checks and warms one member, and admits it beside what is live and the
    /// members staged before it (none of which is published yet).
    fn stage(&self, member: &BundleMember, staged: &[Staged]) -> Result<Staged, String> {
        let path = &member.path;
        let fingerprint = Fingerprint::of_path(path).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => "missing file".to_owned(),
            _ => format!("cannot read it: {error}"),
        })?;
        if let Some(expected) = member.sha256 {
            let actual = sha256_of(path).map_err(|error| format!("cannot hash it: {error}"))?;
            if actual != expected {
                return Err(format!(
                    "its SHA-256 is {}, the bundle expects {}",
                    hex(&actual),
                    hex(&expected)
                ));
            }
        }
        let library = self.load_counted(path)?;
        // The hash above was of the file as it was then: it must not have changed since.
        if Fingerprint::of_path(path).ok() != Some(fingerprint) {
            return Err("the file changed while it was being loaded".into());
        }
        let identity = &library.identity;
        if identity.name != member.name || identity.version != member.version {
            return Err(format!(
                "it is {}, the bundle expects {}",
                identity.label,
                member.label()
            ));
        }
        let others: Vec<Arc<PluginVersion>> = staged.iter().map(|s| s.version.clone()).collect();
        self.check_interfaces_beside(&library, &others);
        let state = self.lock();
        admission::check_admission(&state, path, &library)?;
        drop(state);
        let health = |label: &str, routes| self.new_health(label, routes);
        Ok(Staged {
            path: path.clone(),
            fingerprint,
            version: Arc::new(PluginVersion::from_library(path, library, health)),
        })
    }

    /// `load_library` and the warm-up, with the mapped-library cap and count kept as a
    /// single deploy keeps them.
    fn load_counted(&self, path: &Path) -> Result<loader::LoadedLibrary, String> {
        let cap = self.config.containment.max_mapped_libraries;
        let mapped = self.lock().mapped;
        if mapped.count >= cap {
            return Err(loader::LoadError::MappedLibraryCap {
                mapped: mapped.count,
                cap,
            }
            .to_string());
        }
        let loaded = loader::load_library(path, &self.config.loader)
            .and_then(|library| loader::warm_up(library, self.config.warmup.as_ref()));
        let mut state = self.lock();
        match &loaded {
            Ok(library) => state.mapped.add(library.file_bytes),
            Err(error) => {
                if let Some(bytes) = error.mapped_bytes() {
                    state.mapped.add(bytes);
                }
            }
        }
        loaded.map_err(|error| error.to_string())
    }

    /// Puts every staged member in place and resolves bindings once as a trial: if each
    /// member binds, the members stay and one table is published; otherwise the live set is
    /// put back as it was and nothing is published.
    fn publish_staged(&self, staged: Vec<Staged>) -> Result<(), MemberFailure> {
        let mut guard = self.lock();
        // Through a plain reference, so the resolution and the pins borrow apart.
        let state = &mut *guard;
        let replaced: Vec<Option<Arc<PluginVersion>>> = staged
            .iter()
            .map(|s| state.live.insert(s.path.clone(), s.version.clone()))
            .collect();
        let participants = publication::participants(state);
        let mut trial = binding::resolve(
            &participants,
            &mut state.resolution,
            &state.policy.module_pins,
        );
        // The verdicts travel with a resolution: hand them back to the books' own.
        *state.resolution.layout_checks_mut() = std::mem::take(trial.layout_checks_mut());
        let unbound = staged.iter().find_map(|s| {
            trial.unresolved(&s.version).map(|reason| MemberFailure {
                file: file_name(&s.path),
                reason: format!("its requirements cannot be bound: {reason}"),
            })
        });
        if let Some(failure) = unbound {
            for (s, previous) in staged.iter().zip(replaced) {
                match previous {
                    Some(previous) => state.live.insert(s.path.clone(), previous),
                    None => state.live.remove(&s.path),
                };
            }
            return Err(failure);
        }
        for (s, previous) in staged.iter().zip(replaced) {
            state.failed.remove(&s.path);
            state.fingerprints.insert(s.path.clone(), s.fingerprint);
            tracing::info!(plugin = %s.version.identity.label, file = %s.path.display(), "plugin loaded (bundle)");
            if let Some(previous) = previous {
                self.retire(state, previous);
            }
        }
        self.publish(state);
        Ok(())
    }
}

/// Forgets a bundle whose manifest is gone: its members are ordinary files from now on.
pub(super) fn forget(state: &mut RegistryState, manifest: &Path) {
    state.bundles.remove(manifest);
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn sha256_of(path: &Path) -> std::io::Result<[u8; 32]> {
    use std::os::unix::fs::OpenOptionsExt as _;
    // Not through a symlink: the loader refuses those too (unless configured), and a hash
    // of the link's target would vouch for a file the loader may not open.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize().into())
}

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
