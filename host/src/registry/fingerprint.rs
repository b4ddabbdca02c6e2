//! What a file looked like when it was last deployed, so unchanged files are left alone.

/// Identity of a file's content as far as the file system tells: a rename brings a new
/// inode, a rewrite a new size or modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fingerprint {
    device: u64,
    inode: u64,
    len: u64,
    modified_ns: i128,
}

impl Fingerprint {
    pub(super) fn of(metadata: &std::fs::Metadata) -> Self {
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
