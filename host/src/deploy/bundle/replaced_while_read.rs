//! A manifest replaced between the deployer's read of it and the bundle's deploy: the new
//! text must still be deployed when its own event brings it in. A race in the deployer
//! (the likely cause of a bundle integration test failing in CI), made deterministic here
//! by replacing the file at exactly that point.

use std::path::Path;

use super::read;
use crate::registry::{Registry, test_registry::registry};

fn write_manifest(dir: &Path, member_file: &str) {
    let plugin = format!("{}@1.0.0", member_file.trim_end_matches("-1.0.0.so"));
    let temp = dir.join(".release.bundle.toml.tmp");
    std::fs::write(
        &temp,
        format!("[[member]]\nfile = {member_file:?}\nplugin = {plugin:?}\n"),
    )
    .expect("write manifest");
    // Renamed into place as teams publish: a new inode under the same name.
    std::fs::rename(&temp, dir.join("release.bundle.toml")).expect("rename manifest");
}

fn failure_reason(registry: &Registry, file: &Path) -> Option<String> {
    registry
        .snapshot()
        .failures
        .into_iter()
        .find(|failure| failure.file == file)
        .map(|failure| failure.reason)
}

#[test]
fn a_manifest_replaced_after_it_was_read_is_deployed_from_its_new_text() {
    let scratch = tempfile::tempdir().expect("scratch");
    let plugins = scratch.path().join("plugins");
    std::fs::create_dir(&plugins).expect("plugins dir");
    let registry = registry(scratch.path());
    let manifest = plugins.join("release.bundle.toml");

    // The deployer reads the first text; the manifest is replaced before the deploy runs.
    write_manifest(&plugins, "first-1.0.0.so");
    let first = read(&manifest).expect("first manifest");
    write_manifest(&plugins, "second-1.0.0.so");
    registry.sync_bundle(&first);
    // The replacement's event: the new text is read and deployed. Both members are missing,
    // so what each deploy tried shows as that member's failure.
    let second = read(&manifest).expect("second manifest");
    registry.sync_bundle(&second);

    let reason = failure_reason(&registry, &plugins.join("second-1.0.0.so"));
    assert_eq!(
        reason.as_deref(),
        Some("bundle release: member second-1.0.0.so failed: missing file"),
        "the new text was not deployed"
    );
    assert_eq!(
        failure_reason(&registry, &plugins.join("first-1.0.0.so")),
        None,
        "the stale text was deployed as if it were the new file's"
    );

    // And an unchanged manifest read again is not deployed again: the failure stays the
    // one recorded, at the same instant.
    let at = |registry: &Registry| {
        registry
            .snapshot()
            .failures
            .into_iter()
            .find(|failure| failure.file == plugins.join("second-1.0.0.so"))
            .map(|failure| failure.at)
    };
    let before = at(&registry);
    registry.sync_bundle(&read(&manifest).expect("same manifest"));
    assert_eq!(at(&registry), before);
}
