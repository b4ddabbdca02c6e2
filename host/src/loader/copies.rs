//! The host's private copies of artifacts, each opened from a path no library was opened
//! from before (`dlopen` returns the already-loaded code for a path or inode it has seen).
//!
//! The copies live in a directory this host creates for itself under the configured parent,
//! with a random name and mode 0700, created exclusively: a directory someone made in
//! advance, or a symlink planted under the name, is never used (the name is drawn again).
//! Each copy is created exclusively too (`O_EXCL`, `O_NOFOLLOW`), so nothing but this host
//! writes it, and it is removed as soon as it is not needed: the mapping outlives the name.
//! At shutdown the host removes the files it made and its directory, never anything else;
//! a host that was killed cannot, so each host holds a lock on its directory and removes,
//! when it starts, those of hosts that are gone (`copies/abandoned.rs`).

use std::{
    collections::BTreeMap,
    fs::{DirBuilder, File, OpenOptions},
    io::{self, Read as _, Seek as _, SeekFrom},
    os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt},
    path::{Path, PathBuf},
    sync::{
        Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
};

use serde::Serialize;

use super::{
    LoadError,
    ownership::{self, Sharing},
    source::Source,
};

mod abandoned;

/// Why the copies directory could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CopiesSetupError {
    #[error("cannot create the copies parent {path}: {source}")]
    Parent { path: PathBuf, source: io::Error },
    #[error("refusing the copies parent {path}: {reason}")]
    InsecureParent { path: PathBuf, reason: String },
    #[error("cannot create a private copies directory under {parent}: {source}")]
    Create { parent: PathBuf, source: io::Error },
}

/// What `/admin/plugins` shows of the copies directory.
#[derive(Debug, Clone, Serialize)]
pub struct CopiesStats {
    /// The host's private directory.
    pub dir: PathBuf,
    /// Copies present now, and their bytes.
    pub files: usize,
    pub bytes: u64,
    /// Copies made since the host started.
    pub created_total: u64,
    /// Whether copies of mapped libraries are kept (`artifacts.keep_copies`).
    pub keep_copies: bool,
}

/// The host's private copies directory.
#[derive(Debug)]
pub struct CopiesDir {
    dir: PathBuf,
    /// The directory, open and locked for as long as this host runs
    /// (`abandoned::hold`); `None` where it could not be locked.
    _held: Option<File>,
    keep_mapped: bool,
    next: AtomicU64,
    files: Mutex<Files>,
}

#[derive(Debug, Default)]
struct Files {
    /// The copies this host made that still exist, with their sizes.
    present: BTreeMap<PathBuf, u64>,
    created_total: u64,
    closed: bool,
}

/// One private copy, open for reading; removed when dropped unless [`CopiesDir::release`]
/// kept it.
pub(super) struct PrivateCopy<'a> {
    owner: &'a CopiesDir,
    pub(super) path: PathBuf,
    pub(super) file: File,
    pub(super) len: u64,
    kept: bool,
}

/// Attempts at a fresh random name before giving up (each collision is a directory that
/// was already there: chance, or someone guessing).
const NAME_ATTEMPTS: usize = 16;

impl CopiesDir {
    /// Creates the host's private directory under `parent` (created, mode 0700, when it
    /// does not exist). A parent that others could use to swap our directory is refused
    /// unless `allow_insecure`.
    pub fn create(
        parent: &Path,
        keep_mapped: bool,
        allow_insecure: bool,
    ) -> Result<Self, CopiesSetupError> {
        Self::create_with_names(parent, keep_mapped, allow_insecure, random_names())
    }

    fn create_with_names(
        parent: &Path,
        keep_mapped: bool,
        allow_insecure: bool,
        names: impl IntoIterator<Item = String>,
    ) -> Result<Self, CopiesSetupError> {
        let parent_error = |source| CopiesSetupError::Parent {
            path: parent.to_owned(),
            source,
        };
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(parent_error)?;
        let metadata = std::fs::metadata(parent).map_err(parent_error)?;
        // Others who can rename entries of the parent could swap our directory for one of
        // theirs between two loads (or a gone host's for one of theirs while it is being
        // removed); a sticky directory like /tmp prevents that.
        let secure = ownership::check(&metadata, "it", Sharing::StickyAllowed);
        if let Err(reason) = &secure
            && !allow_insecure
        {
            return Err(CopiesSetupError::InsecureParent {
                path: parent.to_owned(),
                reason: reason.clone(),
            });
        }
        let mut last_error = None;
        for name in names.into_iter().take(NAME_ATTEMPTS) {
            let dir = parent.join(name);
            // mkdir(2) creates exclusively and never follows a symlink at the name.
            match DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    // The mode was masked by the umask at most; set exactly 0700.
                    let create_error = |source| CopiesSetupError::Create {
                        parent: parent.to_owned(),
                        source,
                    };
                    std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o700))
                        .map_err(create_error)?;
                    // Without the lock (a file system without `flock`) the directory is
                    // not marked either, so no other host takes it for a gone host's.
                    let held = abandoned::hold(&dir)
                        .inspect_err(|error| tracing::warn!(dir = %dir.display(), %error, "cannot lock and mark the copies directory; if this host is killed, the next one will not remove it"))
                        .ok();
                    if secure.is_ok() {
                        abandoned::sweep(parent, &dir);
                    }
                    return Ok(Self {
                        dir,
                        _held: held,
                        keep_mapped,
                        next: AtomicU64::new(1),
                        files: Mutex::new(Files::default()),
                    });
                }
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                    tracing::warn!(dir = %dir.display(), "a directory of the name drawn for the copies already exists; drawing another");
                    last_error = Some(error);
                }
                Err(source) => {
                    return Err(CopiesSetupError::Create {
                        parent: parent.to_owned(),
                        source,
                    });
                }
            }
        }
        Err(CopiesSetupError::Create {
            parent: parent.to_owned(),
            source: last_error.unwrap_or_else(|| io::Error::other("no names left to draw from")),
        })
    }

    pub fn stats(&self) -> CopiesStats {
        let files = self.lock();
        CopiesStats {
            dir: self.dir.clone(),
            files: files.present.len(),
            bytes: files.present.values().sum(),
            created_total: files.created_total,
            keep_copies: self.keep_mapped,
        }
    }

    /// Copies the vetted `source` (exactly its `fstat` length) to a new file of this
    /// directory named after `file_name`.
    pub(super) fn copy(
        &self,
        source: &Source,
        file_name: &str,
    ) -> Result<PrivateCopy<'_>, LoadError> {
        let len = source.len();
        let path = {
            let mut files = self.lock();
            if files.closed {
                return Err(LoadError::Closed);
            }
            let number = self.next.fetch_add(1, Ordering::Relaxed);
            let path = self.dir.join(format!("{number:06}-{file_name}"));
            files.present.insert(path.clone(), len);
            files.created_total += 1;
            path
        };
        let describe = path.display().to_string();
        let copy_error = |error: io::Error| LoadError::Copy(format!("{describe}: {error}"));
        // O_EXCL|O_NOFOLLOW: a file at this name that this host did not just create is never
        // written through. Readable for the checks; std adds O_CLOEXEC.
        let created = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path);
        let mut file = match created {
            Ok(file) => file,
            Err(error) => {
                // Nothing of ours is at the path: forget it without touching what is there.
                self.lock().present.remove(&path);
                return Err(copy_error(error));
            }
        };
        let copy = PrivateCopy {
            owner: self,
            path,
            file: file.try_clone().map_err(copy_error)?,
            len,
            kept: false,
        };
        // In-kernel copy (copy_file_range) of exactly `len` bytes from the start of the
        // descriptor that was vetted; a file that shrank meanwhile comes up short and is
        // refused.
        let mut from = &source.file;
        from.seek(SeekFrom::Start(0)).map_err(copy_error)?;
        let copied = io::copy(&mut from.take(len), &mut file).map_err(copy_error)?;
        if copied != len {
            return Err(LoadError::Changed(format!(
                "{copied} bytes could be read of the {len} it had when opened"
            )));
        }
        Ok(copy)
    }

    /// Done with `copy`: a library opened from it stays mapped (`mapped`), so with
    /// `keep_copies` its name is kept for profilers; otherwise it is removed now.
    pub(super) fn release(&self, mut copy: PrivateCopy<'_>, mapped: bool) {
        if mapped && self.keep_mapped {
            copy.kept = true;
        }
    }

    /// Removes every copy this host made and its directory, and refuses later copies.
    /// Files someone else put in the directory are left, and so is the directory then.
    pub fn close(&self) {
        let present = {
            let mut files = self.lock();
            if files.closed {
                return;
            }
            files.closed = true;
            std::mem::take(&mut files.present)
        };
        for path in present.keys() {
            if let Err(error) = std::fs::remove_file(path)
                && error.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(copy = %path.display(), %error, "cannot remove a private copy");
            }
        }
        let marker = self.dir.join(abandoned::MARKER);
        if let Err(error) = std::fs::remove_file(&marker)
            && error.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(marker = %marker.display(), %error, "cannot remove the copies directory's marker");
        }
        if let Err(error) = std::fs::remove_dir(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), %error, "cannot remove the private copies directory");
        }
    }

    fn remove(&self, path: &Path) {
        let known = self.lock().present.remove(path).is_some();
        if known
            && let Err(error) = std::fs::remove_file(path)
            && error.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(copy = %path.display(), %error, "cannot remove a private copy");
        }
    }

    fn lock(&self) -> MutexGuard<'_, Files> {
        self.files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for CopiesDir {
    /// A host that fails to start after its loader was set up leaves nothing behind.
    fn drop(&mut self) {
        self.close();
    }
}

impl PrivateCopy<'_> {
    /// Whether `path` still names this copy (same device and inode), checked just before
    /// the path is handed to the dynamic loader.
    pub(super) fn path_is_ours(&self) -> Result<(), LoadError> {
        let mine = self
            .file
            .metadata()
            .map_err(|error| LoadError::Copy(format!("{}: {error}", self.path.display())))?;
        let named = std::fs::symlink_metadata(&self.path)
            .map_err(|error| LoadError::Copy(format!("{}: {error}", self.path.display())))?;
        if (mine.dev(), mine.ino()) != (named.dev(), named.ino()) || !named.is_file() {
            return Err(LoadError::Copy(format!(
                "{} no longer names the copy this host wrote",
                self.path.display()
            )));
        }
        Ok(())
    }
}

impl Drop for PrivateCopy<'_> {
    fn drop(&mut self) {
        if !self.kept {
            self.owner.remove(&self.path);
        }
    }
}

/// Directory names `frontdoor-` + 16 hex digits from the kernel's random source. The
/// name need not be secret (creation is exclusive); random names make collisions and
/// squatting pointless.
fn random_names() -> impl Iterator<Item = String> {
    std::iter::from_fn(|| {
        let mut bytes = [0u8; 8];
        File::open("/dev/urandom")
            .and_then(|mut urandom| urandom.read_exact(&mut bytes))
            .ok()?;
        Some(format!("frontdoor-{:016x}", u64::from_ne_bytes(bytes)))
    })
}

#[cfg(test)]
mod tests;
