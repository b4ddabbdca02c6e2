//! Keeps the registry in step with the plugins directory.
//!
//! Start-up and the watcher share one code path: start-up is a [`reconcile`] (every file
//! appeared), and the [`Deployer`] thread turns file-system events into the same per-file
//! check. **Invariant:** a file is loaded only once it is complete: renamed into place, or
//! closed by its writer.
//!
//! Bundles (`NAME.bundle.toml`, [`bundle`]) take their members out of the per-file path:
//! an artifact that a manifest in the directory names is deployed only with its bundle,
//! which is tried when the manifest or any member changes and none of its members is still
//! being written. While its manifest is there, a member that disappears is not retired
//! (the bundle reports it missing); remove the manifest and its members are ordinary files.

mod bundle;
mod deployer;
pub(crate) mod priority;
mod scan;

pub use bundle::{BundleError, is_bundle_name};
pub use deployer::{DEFAULT_NICE, Deployer, DeployerConfig};
pub use scan::{is_artifact_name, scan};

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
};

pub(crate) use bundle::Claims;

use crate::registry::Registry;

/// Brings the registry in line with `dir`: deploys new and changed artifacts and bundles,
/// retires the versions whose file is gone. Failures are recorded per file; they never stop
/// the others from loading.
pub fn reconcile(registry: &Registry, dir: &Path) -> std::io::Result<()> {
    reconcile_except(
        registry,
        dir,
        |_| false,
        |path, claims| {
            sync_entry(registry, claims, path, &|_| false);
        },
    )
}

/// Brings one entry of the plugins directory in line: a bundle manifest deploys its bundle,
/// an artifact a manifest names (`claims`, the directory's, read by the caller once for
/// all the entries it brings in line) brings in that bundle instead, any other artifact
/// deploys on its own. A bundle with a member still being written (`in_progress`) waits
/// for that member's own completion, which brings the bundle in again. False when a lone
/// artifact needed nothing (see [`Registry::sync_file`]); a bundle's entry is always true.
fn sync_entry(
    registry: &Registry,
    claims: &Claims,
    path: &Path,
    in_progress: &dyn Fn(&Path) -> bool,
) -> bool {
    let manifests: Vec<PathBuf> = if is_bundle_name(path) {
        vec![path.to_owned()]
    } else if let Some(manifests) = claims.get(path) {
        manifests.clone()
    } else {
        return registry.sync_file(path);
    };
    for manifest in manifests {
        let busy = claims
            .iter()
            .any(|(member, owners)| owners.contains(&manifest) && in_progress(member));
        if !busy {
            bundle::sync(registry, &manifest);
        }
    }
    true
}

/// [`reconcile`], leaving alone the files for which `in_progress` is true (still being
/// written: neither loaded nor retired yet), and bringing each other file in line through
/// `sync` (the deployer's, which notes the file it is on). The directory and its manifests
/// are read once for all its files: per file, a reconcile of a thousand artifacts listed
/// the directory a thousand times, every two seconds.
fn reconcile_except(
    registry: &Registry,
    dir: &Path,
    in_progress: impl Fn(&Path) -> bool,
    mut sync: impl FnMut(&Path, &Claims),
) -> std::io::Result<()> {
    let present = scan(dir)?;
    let manifests = bundle::manifests(dir);
    let claims = bundle::claims(dir);
    let listed: HashSet<&PathBuf> = present.iter().chain(&manifests).collect();
    for known in registry.known_files() {
        // A bundle's member stays while a manifest names it (see the module's doc).
        if !listed.contains(&known) && !claims.contains_key(&known) {
            registry.remove_file(&known);
        }
    }
    let unclaimed = present.iter().filter(|path| !claims.contains_key(*path));
    for path in unclaimed
        .chain(&manifests)
        .filter(|path| !in_progress(path))
    {
        sync(path, &claims);
    }
    Ok(())
}
