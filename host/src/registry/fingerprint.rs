//! What a file looked like when it was last deployed (or refused), so unchanged files are
//! left alone and changed ones, including a fixed mode or owner, are tried again.

use std::{io, os::unix::fs::MetadataExt as _, path::Path};

/// Identity of a directory entry as far as the file system tells: a rename brings a new
/// inode, a rewrite a new size or modification time, `chmod`/`chown` a new mode or owner
/// (a file refused for its permissions is retried once they are fixed). For a symlink, the
/// target's identity too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fingerprint {
    entry: Stat,
    /// What a symlink points to now (`None`: not a symlink, or a dangling one).
    target: Option<Stat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    device: u64,
    inode: u64,
    len: u64,
    modified_ns: i128,
    /// File type and permission bits.
    mode: u32,
    uid: u32,
    gid: u32,
}

impl Fingerprint {
    /// The fingerprint of the entry at `path`, not following a symlink for the entry itself.
    pub(super) fn of_path(path: &Path) -> io::Result<Self> {
        let entry = std::fs::symlink_metadata(path)?;
        let target = if entry.file_type().is_symlink() {
            std::fs::metadata(path).ok().map(|target| Stat::of(&target))
        } else {
            None
        };
        Ok(Self {
            entry: Stat::of(&entry),
            target,
        })
    }
}

impl Fingerprint {
    /// Whether `other` is the same content (same inode, size and modification time, same
    /// symlink target), whatever its mode or owner now.
    pub(super) fn same_content(&self, other: &Self) -> bool {
        self.entry.same_content(&other.entry)
            && match (&self.target, &other.target) {
                (Some(mine), Some(theirs)) => mine.same_content(theirs),
                (None, None) => true,
                _ => false,
            }
    }
}

impl Stat {
    fn same_content(&self, other: &Self) -> bool {
        (self.device, self.inode, self.len, self.modified_ns)
            == (other.device, other.inode, other.len, other.modified_ns)
    }

    fn of(metadata: &std::fs::Metadata) -> Self {
        Self {
            device: metadata.dev(),
            inode: metadata.ino(),
            len: metadata.len(),
            modified_ns: i128::from(metadata.mtime()) * 1_000_000_000
                + i128::from(metadata.mtime_nsec()),
            mode: metadata.mode(),
            uid: metadata.uid(),
            gid: metadata.gid(),
        }
    }
}

#[cfg(test)]
mod tests;
