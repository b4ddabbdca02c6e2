//! What a file looked like when it was last deployed (or refused), so unchanged files are
//! left alone and changed ones, including a fixed mode or owner, are tried again.

use std::{io, os::unix::fs::MetadataExt as _, path::Path};

use crate::loader::ContentId;

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
    /// Device, inode, size and modification time: what says the content is the same.
    content: ContentId,
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
    /// The entry's content identity (inode, size, modification time).
    pub(super) fn content(&self) -> ContentId {
        self.entry.content
    }

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
        self.content == other.content
    }

    fn of(metadata: &std::fs::Metadata) -> Self {
        Self {
            content: ContentId::of(metadata),
            mode: metadata.mode(),
            uid: metadata.uid(),
            gid: metadata.gid(),
        }
    }
}

#[cfg(test)]
mod tests;
