//! Copies directories of hosts that are gone: each host holds a lock on its own for as long
//! as it runs, and a host that starts removes the ones nobody holds.
//!
//! A host that shuts down removes its directory; one killed (SIGKILL, the OOM killer, an
//! abort) cannot. Its directory is usually empty (copies are removed once mapped) but not
//! with `keep_copies`, where it holds every library the host had loaded, and a host that
//! crashes in a loop under a supervisor left one directory per start. So the host takes an
//! exclusive `flock` on its directory, which the kernel releases when the process ends
//! however it ends, and then writes [`MARKER`] into it. A directory of the copies' name
//! pattern, owned by this user, whose lock can be taken and which holds the marker, belonged
//! to a host that is gone: its files are removed, then the directory. Without the marker,
//! its host may be between creating it and locking it, so it is left alone; with the lock
//! held elsewhere, its host is alive (locks are per open file, so a second host in the same
//! process counts too). Only plain files are removed and only directories of the pattern
//! are looked at: nothing an operator put beside them is touched.

use std::{
    fs::{File, OpenOptions},
    io,
    os::unix::fs::{MetadataExt as _, OpenOptionsExt as _},
    path::Path,
};

/// Written into a copies directory once its host holds the lock.
pub(super) const MARKER: &str = ".held-by-a-running-host";

/// The directory names hosts draw: `frontdoor-` and 16 lowercase hexadecimal digits.
pub(super) fn is_copies_name(name: &str) -> bool {
    name.strip_prefix("frontdoor-").is_some_and(|digits| {
        digits.len() == 16
            && digits
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
    })
}

/// Takes the lock on `dir` (just created by this host) and writes the marker; the lock
/// lasts as long as the returned file is open.
pub(super) fn hold(dir: &Path) -> io::Result<File> {
    let handle = open_dir(dir)?;
    if !try_lock(&handle)? {
        return Err(io::Error::other("another process holds its lock"));
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(dir.join(MARKER))?;
    Ok(handle)
}

/// Removes every copies directory under `parent` left by a host that is gone, except
/// `own`. Best effort: what cannot be read or removed is logged and left.
pub(super) fn sweep(parent: &Path, own: &Path) {
    let entries = match std::fs::read_dir(parent) {
        Ok(entries) => entries,
        Err(error) => {
            tracing::warn!(parent = %parent.display(), %error, "cannot look for copies directories of hosts that are gone");
            return;
        }
    };
    let me = crate::loader::ownership::effective_uid();
    for entry in entries.flatten() {
        let path = entry.path();
        if path == own || !entry.file_name().to_str().is_some_and(is_copies_name) {
            continue;
        }
        match remove_if_abandoned(&path, me) {
            Ok(Some(files)) => tracing::info!(
                dir = %path.display(),
                files,
                "removed the copies directory of a host that is gone"
            ),
            Ok(None) => {}
            Err(error) => tracing::warn!(
                dir = %path.display(),
                %error,
                "cannot remove the copies directory of a host that is gone"
            ),
        }
    }
}

/// Removes `dir` and its plain files if its host is gone; the number of files removed, or
/// `None` when it is not a directory of this user's that a gone host left.
fn remove_if_abandoned(dir: &Path, me: libc::uid_t) -> io::Result<Option<usize>> {
    let named = std::fs::symlink_metadata(dir)?;
    if !named.is_dir() || named.uid() != me {
        return Ok(None);
    }
    let handle = open_dir(dir)?;
    let opened = handle.metadata()?;
    // Opened what was looked at (O_NOFOLLOW refuses a symlink put there since).
    if (opened.dev(), opened.ino()) != (named.dev(), named.ino()) || !try_lock(&handle)? {
        return Ok(None);
    }
    if !std::fs::symlink_metadata(dir.join(MARKER)).is_ok_and(|marker| marker.is_file()) {
        return Ok(None);
    }
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() && entry.file_name() != MARKER {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    // The marker last: a sweep cut short leaves a directory the next sweep still knows.
    std::fs::remove_file(dir.join(MARKER))?;
    std::fs::remove_dir(dir)?;
    Ok(Some(removed))
}

fn open_dir(dir: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir)
}

/// Takes the exclusive lock on `handle` without waiting (`flock`, released when the
/// process ends): `false` when it is held elsewhere.
fn try_lock(handle: &File) -> io::Result<bool> {
    match handle.try_lock() {
        Ok(()) => Ok(true),
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(error)) => Err(error),
    }
}

#[cfg(test)]
mod tests;
