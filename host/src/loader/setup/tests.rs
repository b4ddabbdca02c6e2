//! Setting up a host's loader: what it refuses to start with.

use std::os::unix::fs::PermissionsExt as _;

use super::{Loader, LoaderSetupError};
use crate::loader::{ArtifactsConfig, LoaderConfig};

fn config(root: &std::path::Path, artifacts: ArtifactsConfig) -> LoaderConfig {
    LoaderConfig {
        artifacts,
        copies_parent: root.join("copies"),
        state_dir: root.join("state"),
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "frontdoor-setup-test-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).expect("scratch dir");
    dir
}

#[test]
fn a_probe_without_a_binary_is_refused() {
    let root = scratch("no-binary");
    let error = Loader::new(config(&root, ArtifactsConfig::default())).expect_err("refused");
    assert!(matches!(error, LoaderSetupError::NoProbeBinary), "{error}");
    assert!(
        !root.join("copies").exists(),
        "nothing made before refusing"
    );
    std::fs::remove_dir_all(root).expect("clean up");
}

#[test]
fn a_state_directory_others_can_write_is_refused_unless_allowed() {
    let root = scratch("state-modes");
    std::fs::create_dir(root.join("state")).expect("mkdir");
    std::fs::set_permissions(root.join("state"), std::fs::Permissions::from_mode(0o777))
        .expect("chmod");
    let no_probe = ArtifactsConfig {
        probe: false,
        ..ArtifactsConfig::default()
    };
    let error = Loader::new(config(&root, no_probe.clone())).expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("is writable by group or others (mode 0777)"),
        "{error}"
    );
    let lax = ArtifactsConfig {
        allow_insecure_permissions: true,
        ..no_probe
    };
    let loader = Loader::new(config(&root, lax)).expect("allowed explicitly");
    loader.close();
    std::fs::remove_dir_all(root).expect("clean up");
}
