//! Atomic installation of an artifact into a directory that a host may be watching.
//!
//! **Invariant:** the final name only ever points at a complete, flushed file. The copy is
//! written under a dot-name (ignored by the host) in the same directory, fsynced, then
//! renamed over the final name, which is atomic within one file system.

use std::{
    fs::{self, File},
    path::{Path, PathBuf},
    process,
};

use anyhow::Context as _;

/// Copies `source` to `dir/file_name` atomically, creating `dir` if missing. Returns the
/// final path and its size in bytes.
pub fn atomically(source: &Path, dir: &Path, file_name: &str) -> anyhow::Result<(PathBuf, u64)> {
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))?;
    let target = dir.join(file_name);
    let temp = dir.join(format!(".{file_name}.tmp-{}", process::id()));
    match copy_then_rename(source, &temp, &target) {
        Ok(bytes) => Ok((target, bytes)),
        Err(error) => {
            // Best effort: a leftover dot-file is ignored by the host anyway.
            let _ = fs::remove_file(&temp);
            Err(error)
        }
    }
}

fn copy_then_rename(source: &Path, temp: &Path, target: &Path) -> anyhow::Result<u64> {
    let bytes = fs::copy(source, temp)
        .with_context(|| format!("cannot copy {} to {}", source.display(), temp.display()))?;
    File::options()
        .write(true)
        .open(temp)
        .and_then(|file| file.sync_all())
        .with_context(|| format!("cannot flush {} to disk", temp.display()))?;
    fs::rename(temp, target)
        .with_context(|| format!("cannot rename {} to {}", temp.display(), target.display()))?;
    // Make the rename itself durable: it lives in the directory.
    if let Some(dir) = target.parent() {
        File::open(dir)
            .and_then(|dir| dir.sync_all())
            .with_context(|| format!("cannot flush directory {} to disk", dir.display()))?;
    }
    Ok(bytes)
}
