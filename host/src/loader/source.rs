//! Opens an artifact in the plugins directory the way a careful program opens code it is
//! about to run: once, without following symlinks (unless allowed), without blocking on a
//! FIFO, and deciding from `fstat` of that one descriptor what it is, how big it is, and
//! who could have written it.

use std::{
    fs::{File, Metadata, OpenOptions},
    os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _},
    path::Path,
};

use super::{
    ArtifactsConfig, LoadError,
    ownership::{self, Sharing},
};

/// An artifact opened for reading and vetted: a regular file of an acceptable size, owned
/// and moded so that only the host's user (or root) could have written it.
pub(super) struct Source {
    pub(super) file: File,
    /// From `fstat` of `file`: what was vetted is what will be read.
    pub(super) metadata: Metadata,
}

impl Source {
    pub(super) fn len(&self) -> u64 {
        self.metadata.len()
    }
}

/// Opens and vets the artifact at `path`.
pub(super) fn open(path: &Path, config: &ArtifactsConfig) -> Result<Source, LoadError> {
    let io_error = |source| LoadError::Io {
        path: path.to_owned(),
        source,
    };
    // A look before opening, only to refuse early what must never be opened: opening a
    // device node can have effects of its own (a tape rewinds, a watchdog arms) and a socket
    // cannot be opened at all. What is loaded is decided from `fstat` below.
    let link = std::fs::symlink_metadata(path).map_err(io_error)?;
    if link.file_type().is_symlink() {
        if !config.allow_symlinks {
            return Err(LoadError::Symlink {
                target: std::fs::read_link(path).ok(),
            });
        }
        let target = std::fs::metadata(path).map_err(io_error)?;
        refuse_unless_regular(&target, true)?;
    } else {
        refuse_unless_regular(&link, false)?;
    }

    let mut options = OpenOptions::new();
    // O_NONBLOCK: a FIFO swapped in after the look above must not block the deployer.
    // O_NOFOLLOW: a symlink swapped in is refused (ELOOP). std adds O_CLOEXEC.
    let nofollow = if config.allow_symlinks {
        0
    } else {
        libc::O_NOFOLLOW
    };
    options
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | nofollow);
    let file = options.open(path).map_err(|error| {
        if error.raw_os_error() == Some(libc::ELOOP) {
            LoadError::Symlink {
                target: std::fs::read_link(path).ok(),
            }
        } else {
            io_error(error)
        }
    })?;
    let metadata = file.metadata().map_err(io_error)?;
    refuse_unless_regular(&metadata, link.file_type().is_symlink())?;
    if metadata.len() == 0 {
        return Err(LoadError::Empty);
    }
    if metadata.len() > config.max_artifact_bytes {
        return Err(LoadError::TooLarge {
            bytes: metadata.len(),
            limit: config.max_artifact_bytes,
        });
    }
    if !config.allow_insecure_permissions {
        ownership::check(&metadata, "the artifact", Sharing::Refused)
            .map_err(LoadError::InsecurePermissions)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let dir_metadata = std::fs::metadata(dir).map_err(|source| LoadError::Io {
            path: dir.to_owned(),
            source,
        })?;
        ownership::check(&dir_metadata, "the plugins directory", Sharing::Refused)
            .map_err(LoadError::InsecurePermissions)?;
    }
    Ok(Source { file, metadata })
}

fn refuse_unless_regular(metadata: &Metadata, via_symlink: bool) -> Result<(), LoadError> {
    let kind = metadata.file_type();
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else {
        "not a file"
    };
    Err(LoadError::NotRegular { what, via_symlink })
}

#[cfg(test)]
mod tests;
