//! Which files in the plugins directory are artifacts.

use std::path::{Path, PathBuf};

/// True for a file the host treats as an artifact: `*.so`, not hidden. Dot-files are how
/// `cargo xtask build-plugin` and careful tools write temp files before the final rename.
pub fn is_artifact_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| !name.starts_with('.') && name.ends_with(".so") && name.len() > 3)
}

/// The entries of `dir` named like artifacts, in a deterministic order. Whatever their
/// kind: a symlink, directory, FIFO or socket under an artifact's name is listed, to be
/// refused with a reason rather than skipped in silence.
pub fn scan(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut artifacts = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if is_artifact_name(&path) {
            artifacts.push(path);
        }
    }
    // Sorted by name without the extension, so `tv-1.0.0.so` comes before a stray
    // `tv-1.0.0-copy.so` and the conventionally named artifact wins a duplicate.
    artifacts.sort_by(|a, b| a.file_stem().cmp(&b.file_stem()));
    Ok(artifacts)
}
