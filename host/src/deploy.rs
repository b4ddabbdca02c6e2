//! Keeps the registry in step with the plugins directory.
//!
//! Start-up and the watcher share one code path: start-up is a [`reconcile`] (every file
//! appeared), and the [`Deployer`] thread turns file-system events into the same per-file
//! check. **Invariant:** a file is loaded only once it is complete: renamed into place, or
//! closed by its writer.

mod deployer;
mod scan;

pub use deployer::{Deployer, DeployerConfig};
pub use scan::{is_artifact_name, scan};

use std::path::Path;

use crate::registry::Registry;

/// Brings the registry in line with `dir`: deploys new and changed artifacts, retires
/// the versions whose file is gone. Failures are recorded per file; they never stop the
/// others from loading.
pub fn reconcile(registry: &Registry, dir: &Path) -> std::io::Result<()> {
    reconcile_except(registry, dir, |_| false, |path| registry.sync_file(path))
}

/// [`reconcile`], leaving alone the files for which `in_progress` is true (still being
/// written: neither loaded nor retired yet), and bringing each other file in line through
/// `sync` (the deployer's, which notes the file it is on).
fn reconcile_except(
    registry: &Registry,
    dir: &Path,
    in_progress: impl Fn(&Path) -> bool,
    mut sync: impl FnMut(&Path),
) -> std::io::Result<()> {
    let present = scan(dir)?;
    for known in registry.known_files() {
        if !present.contains(&known) {
            registry.remove_file(&known);
        }
    }
    for path in present.iter().filter(|path| !in_progress(path)) {
        sync(path);
    }
    Ok(())
}
