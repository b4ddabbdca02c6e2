//! Owner and mode rules on real files.

use std::os::unix::fs::PermissionsExt as _;

use super::{Sharing, check};

fn file_with_mode(dir: &std::path::Path, name: &str, mode: u32) -> std::fs::Metadata {
    let path = dir.join(name);
    std::fs::write(&path, b"x").expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    std::fs::metadata(&path).expect("stat")
}

fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "frontdoor-ownership-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).expect("scratch dir");
    dir
}

#[test]
fn own_files_without_shared_write_bits_pass() {
    let dir = scratch();
    for mode in [0o600, 0o644, 0o755, 0o400] {
        check(
            &file_with_mode(&dir, "a", mode),
            "the artifact",
            Sharing::Refused,
        )
        .unwrap_or_else(|reason| panic!("{mode:o}: {reason}"));
    }
    std::fs::remove_dir_all(dir).expect("clean up");
}

#[test]
fn group_or_world_writable_is_refused_with_the_mode() {
    let dir = scratch();
    for mode in [0o664, 0o646, 0o666, 0o777] {
        let reason = check(
            &file_with_mode(&dir, "a", mode),
            "the artifact",
            Sharing::Refused,
        )
        .expect_err("shared write refused");
        assert!(
            reason.contains("writable by group or others")
                && reason.contains(&format!("{mode:04o}")),
            "{reason}"
        );
    }
    std::fs::remove_dir_all(dir).expect("clean up");
}

#[test]
fn a_sticky_world_writable_directory_is_acceptable_only_where_allowed() {
    let dir = scratch();
    let shared = dir.join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    let metadata = std::fs::metadata(&shared).expect("stat");
    check(&metadata, "the copies parent", Sharing::StickyAllowed).expect("like /tmp");
    check(&metadata, "the plugins directory", Sharing::Refused).expect_err("anyone may add files");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let metadata = std::fs::metadata(&shared).expect("stat");
    check(&metadata, "the copies parent", Sharing::StickyAllowed)
        .expect_err("without the sticky bit others may rename our directory");
    std::fs::remove_dir_all(dir).expect("clean up");
}

#[test]
fn a_file_owned_by_another_user_is_refused_unless_root_owns_it() {
    let dir = scratch();
    let path = dir.join("foreign");
    std::fs::write(&path, b"x").expect("write");
    // Giving a file away needs root (CAP_CHOWN): the test suite runs as root.
    std::os::unix::fs::chown(&path, Some(4242), Some(4242)).expect("chown (needs root)");
    let reason = check(
        &std::fs::metadata(&path).expect("stat"),
        "the artifact",
        Sharing::Refused,
    )
    .expect_err("foreign owner refused");
    assert!(reason.contains("owned by uid 4242"), "{reason}");
    std::os::unix::fs::chown(&path, Some(0), Some(0)).expect("chown back");
    check(
        &std::fs::metadata(&path).expect("stat"),
        "the artifact",
        Sharing::Refused,
    )
    .expect("root-owned is fine");
    std::fs::remove_dir_all(dir).expect("clean up");
}
