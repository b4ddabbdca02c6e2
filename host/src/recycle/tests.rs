use std::os::unix::fs::PermissionsExt as _;

use super::{auto::over_threshold, *};

#[test]
fn an_upgrade_binary_must_be_an_absolute_executable_regular_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("frontdoor-next");
    std::fs::write(&script, "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let reason = |path: &Path| match check_binary(path) {
        Err(RecycleError::Binary { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(reason(&script), "not executable");
    assert_eq!(reason(dir.path()), "not a regular file");
    assert_eq!(reason(Path::new("frontdoor")), "give an absolute path");
    assert!(reason(&dir.path().join("missing")).contains("No such file"));
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    check_binary(&script).expect("executable");
}

#[test]
fn thresholds_trigger_at_their_limit_and_never_when_unset() {
    assert_eq!(over_threshold(10, 10, None, None), None);
    assert_eq!(over_threshold(99, 3, Some(100), Some(4)), None);
    let retired = over_threshold(100, 3, Some(100), Some(4)).expect("retired bytes");
    assert!(retired.contains("auto_retired_bytes = 100"), "{retired}");
    let mapped = over_threshold(0, 4, Some(100), Some(4)).expect("mapped");
    assert!(mapped.contains("auto_mapped_libraries = 4"), "{mapped}");
}

#[test]
fn zero_thresholds_mean_never_and_zero_timeouts_are_refused() {
    let config: RecycleFileConfig =
        toml::from_str("auto_retired_bytes = 0\nauto_mapped_libraries = 0").expect("parse");
    let config = config.resolve().expect("valid");
    assert!(!config.auto());
    let config: RecycleFileConfig = toml::from_str("ready_timeout_secs = 0").expect("parse");
    let error = config.resolve().expect_err("refused");
    assert!(error.contains("recycle.ready_timeout_secs"), "{error}");
}
