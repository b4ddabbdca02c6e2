//! The plugins directory: which files are artifacts, and deploying what is there.
//!
//! Start-up and (later) the watcher share this code path: loading at start is "every file
//! appeared".

use std::path::{Path, PathBuf};

use crate::registry::Registry;

/// True for a file the host should treat as an artifact: `*.so`, not hidden. Dot-files are
/// how `cargo xtask build-plugin` and careful tools write temp files before a rename.
pub fn is_artifact_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| !name.starts_with('.') && name.ends_with(".so") && name.len() > 3)
}

/// The artifacts in `dir`, in a deterministic order.
pub fn scan(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut artifacts = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_file() && is_artifact_name(&path) {
            artifacts.push(path);
        }
    }
    // Sorted by name without the extension, so `tv-1.0.0.so` comes before a stray
    // `tv-1.0.0-copy.so` and the conventionally named artifact wins a duplicate.
    artifacts.sort_by(|a, b| a.file_stem().cmp(&b.file_stem()));
    Ok(artifacts)
}

/// Deploys every artifact in `dir`. Failures are recorded in the registry; they never stop
/// the others from loading.
pub fn deploy_all(registry: &Registry, dir: &Path) -> std::io::Result<()> {
    for path in scan(dir)? {
        let _ = registry.deploy_file(&path);
    }
    Ok(())
}
