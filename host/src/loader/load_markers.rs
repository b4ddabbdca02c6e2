//! Markers of loads in progress, so a host that died while opening a library
//! refuses that file at its next start instead of dying again (a crash loop).
//!
//! Before the host `dlopen`s a library it writes `<state_dir>/loading/<file name>.<pid>.json`
//! (written and renamed into place before `dlopen`; it survives the process, see
//! [`write_marker`]), and removes it once `dlopen` and the plugin's init
//! returned. A marker found at start-up was left by a host that died in between: its file,
//! as long as it is the very same file (device, inode, size, modification time), is refused
//! with the reason. A changed file is loaded again. The state directory is locked
//! (`<state_dir>/lock`) for the life of the host, so a marker is never one of a live host,
//! with one exception: during a recycle the old host and its successor share the lock (the
//! successor inherits its open file description) and both load from the same directory.
//! Markers carry the writer's pid in their name, so the two never touch each other's, and
//! the successor skips those of the host that handed over (alive: it is talking to it). A
//! marker of any other pid belongs to a host that is gone: the lock admits only the two.

use std::{
    collections::HashMap,
    fs::{self, File, OpenOptions},
    io::{self, Write as _},
    os::unix::fs::{DirBuilderExt as _, MetadataExt as _},
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard},
    time::{SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};

use super::LoadError;

/// Why the state directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateDirError {
    #[error("cannot use the state directory {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "the state directory {path} is in use by another frontdoor host; give each host its own state_dir"
    )]
    InUse { path: PathBuf },
    #[error("the lock handed over by the previous host is not {path}")]
    NotOurLock { path: PathBuf },
}

/// The content identity of a file as far as the file system tells: another build renamed
/// into place has another inode, a rewrite another size or modification time. Mode and
/// owner are left out on purpose: a `chmod` does not fix a library that kills its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentId {
    pub device: u64,
    pub inode: u64,
    pub len: u64,
    pub modified_ns: i128,
}

impl ContentId {
    pub fn of(metadata: &fs::Metadata) -> Self {
        Self {
            device: metadata.dev(),
            inode: metadata.ino(),
            len: metadata.len(),
            modified_ns: i128::from(metadata.mtime()) * 1_000_000_000
                + i128::from(metadata.mtime_nsec()),
        }
    }
}

impl std::fmt::Display for ContentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} bytes, inode {} on device {}, modified {}.{:09} s after the epoch",
            self.len,
            self.inode,
            self.device,
            self.modified_ns.div_euclid(1_000_000_000),
            self.modified_ns.rem_euclid(1_000_000_000)
        )
    }
}

/// What a marker file holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Marker {
    source: PathBuf,
    content: ContentId,
    /// `name@version`, when a probe read it first.
    plugin: Option<String>,
    started_unix_ms: u128,
}

/// The markers of one host's state directory.
#[derive(Debug)]
pub struct LoadMarkers {
    state_dir: PathBuf,
    loading_dir: PathBuf,
    /// Held (and locked) for the life of the host; dropped by [`LoadMarkers::close`].
    lock: Mutex<Option<File>>,
    /// Markers left by a host that died, by source path, with the marker files that say
    /// so (two dead hosts may have left one each).
    crashed: Mutex<HashMap<PathBuf, (Marker, Vec<PathBuf>)>>,
    /// This process: the pid in the names of its markers.
    pid: u32,
}

/// The lock a successor inherits from the host that handed over to it.
#[derive(Debug)]
pub struct InheritedLock {
    /// The open file description locked by the predecessor (shared by both processes).
    pub file: File,
    /// The predecessor, alive while this host starts: its markers are not crashes.
    pub predecessor_pid: u32,
}

/// A marker on disk for one load in progress; removed when dropped (the load returned).
pub(super) struct InProgress {
    path: PathBuf,
}

impl LoadMarkers {
    /// Locks `state_dir` (created when missing), or takes over the lock a predecessor
    /// handed over, and reads the markers a dead host left.
    pub fn open(state_dir: &Path, inherited: Option<InheritedLock>) -> Result<Self, StateDirError> {
        let io_error = |path: &Path| {
            let path = path.to_owned();
            move |source| StateDirError::Io { path, source }
        };
        let loading_dir = state_dir.join("loading");
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&loading_dir)
            .map_err(io_error(&loading_dir))?;
        let lock_path = state_dir.join("lock");
        let (lock, predecessor) = match inherited {
            Some(inherited) => {
                // The inherited descriptor must be this directory's lock file, or the
                // directory would be used unlocked.
                let ours = fs::metadata(&lock_path).map_err(io_error(&lock_path))?;
                let theirs = inherited.file.metadata().map_err(io_error(&lock_path))?;
                if (ours.dev(), ours.ino()) != (theirs.dev(), theirs.ino()) {
                    return Err(StateDirError::NotOurLock { path: lock_path });
                }
                (inherited.file, Some(inherited.predecessor_pid))
            }
            None => {
                let file = OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&lock_path)
                    .map_err(io_error(&lock_path))?;
                (file, None)
            }
        };
        // On the inherited description this succeeds: the predecessor's lock is this lock.
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StateDirError::InUse {
                    path: state_dir.to_owned(),
                });
            }
            Err(fs::TryLockError::Error(source)) => {
                return Err(StateDirError::Io {
                    path: lock_path,
                    source,
                });
            }
        }
        let mut crashed = HashMap::new();
        for entry in fs::read_dir(&loading_dir).map_err(io_error(&loading_dir))? {
            let path = entry.map_err(io_error(&loading_dir))?.path();
            if predecessor.is_some() && writer_pid(&path) == predecessor {
                // A load of the live predecessor, in progress or just finished.
                continue;
            }
            if path.extension().is_none_or(|extension| extension != "json") {
                // A marker cut short by the crash while it was being written (`.tmp`):
                // the host died before it opened anything.
                let _ = fs::remove_file(&path);
                continue;
            }
            match fs::read(&path)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Marker>(&bytes).ok())
            {
                Some(marker) if is_gone(&marker.source) => {
                    // Its file was removed since: nothing left to refuse.
                    let _ = fs::remove_file(&path);
                }
                Some(marker) => {
                    tracing::warn!(
                        file = %marker.source.display(),
                        plugin = marker.plugin.as_deref().unwrap_or("unknown"),
                        "the previous host died while loading this file; it stays refused until it changes"
                    );
                    crashed
                        .entry(marker.source.clone())
                        .or_insert_with(|| (marker, Vec::new()))
                        .1
                        .push(path);
                }
                None => {
                    tracing::warn!(marker = %path.display(), "unreadable load marker removed");
                    let _ = fs::remove_file(&path);
                }
            }
        }
        Ok(Self {
            state_dir: state_dir.to_owned(),
            loading_dir,
            lock: Mutex::new(Some(lock)),
            crashed: Mutex::new(crashed),
            pid: std::process::id(),
        })
    }

    /// Refuses `source` if a host died loading this very content; forgets the marker of a
    /// file that has changed since.
    pub(super) fn refuse_if_crashed(
        &self,
        source: &Path,
        content: &ContentId,
    ) -> Result<(), LoadError> {
        let mut crashed = self.crashed();
        let Some((marker, _)) = crashed.get(source) else {
            return Ok(());
        };
        if marker.content == *content {
            return Err(LoadError::HostDiedLoading {
                fingerprint: marker.content.to_string(),
                plugin: marker.plugin.clone(),
            });
        }
        tracing::info!(file = %source.display(), "the file that killed the previous host changed; loading it again");
        if let Some((_, paths)) = crashed.remove(source) {
            for path in paths {
                let _ = fs::remove_file(path);
            }
        }
        Ok(())
    }

    /// Writes the marker for a load of `source` about to open the library.
    pub(super) fn begin(
        &self,
        source: &Path,
        content: ContentId,
        plugin: Option<&str>,
    ) -> Result<InProgress, LoadError> {
        if self.lock().is_none() {
            return Err(LoadError::Closed);
        }
        let marker = Marker {
            source: source.to_owned(),
            content,
            plugin: plugin.map(str::to_owned),
            started_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|since| since.as_millis())
                .unwrap_or(0),
        };
        let path = self.marker_path(source);
        let temp = path.with_extension("tmp");
        let bytes = serde_json::to_vec(&marker)
            .map_err(|error| LoadError::Marker(format!("cannot encode the marker: {error}")))?;
        let written = write_marker(&temp, &path, &bytes);
        if let Err(error) = written {
            let _ = fs::remove_file(&temp);
            return Err(LoadError::Marker(format!("{}: {error}", path.display())));
        }
        Ok(InProgress { path })
    }

    /// Releases this host's hold on the state directory. Closing, not `unlock`: a
    /// successor may share the locked description, and an unlock would free it for both.
    pub fn close(&self) {
        drop(self.lock().take());
    }

    /// A duplicate of the locked description, to hand to a successor.
    pub fn share_lock(&self) -> io::Result<std::os::fd::OwnedFd> {
        match &*self.lock() {
            Some(file) => Ok(file.try_clone()?.into()),
            None => Err(io::Error::other("the state directory is closed")),
        }
    }

    /// The state directory.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    fn marker_path(&self, source: &Path) -> PathBuf {
        let name = source
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "artifact".into());
        self.loading_dir.join(format!("{name}.{}.json", self.pid))
    }

    fn crashed(&self) -> MutexGuard<'_, HashMap<PathBuf, (Marker, Vec<PathBuf>)>> {
        self.crashed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock(&self) -> MutexGuard<'_, Option<File>> {
        self.lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        // Like the marker itself, the removal reaches the page cache at once: only a power
        // cut before the journal commits it (seconds) would make the next host refuse a
        // good file, which a touch of the file undoes.
        if let Err(error) = fs::remove_file(&self.path)
            && error.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(marker = %self.path.display(), %error, "cannot remove a load marker");
        }
    }
}

/// The pid in a marker's name (`<file>.<pid>.json`, or `.tmp` while written); `None` for
/// markers of hosts that named them `<file>.json`.
fn writer_pid(marker: &Path) -> Option<u32> {
    let stem = marker.file_stem()?.to_str()?;
    stem.rsplit_once('.')?.1.parse().ok()
}

fn is_gone(path: &Path) -> bool {
    matches!(fs::symlink_metadata(path), Err(error) if error.kind() == io::ErrorKind::NotFound)
}

/// Writes `bytes` to `temp` and renames it to `path`. Not fsynced, on purpose: a marker
/// guards against the host *process* dying inside `dlopen` or an init, and what a process
/// wrote reaches the page cache before the call returns, so it survives the process's
/// death whatever kills it (abort, signal, OOM kill). Only a machine crash within the
/// journal's commit interval (seconds) can lose it, and a lost marker costs one more
/// attempt at that file, the same as a machine crash at any other time. An fsync here put a
/// disk round trip and its kernel work on every reload.
fn write_marker(temp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(temp)?;
    file.write_all(bytes)?;
    drop(file);
    fs::rename(temp, path)
}

#[cfg(test)]
mod tests;
