//! A fingerprint changes with what can make a refused file loadable, and only then.

use std::os::unix::fs::PermissionsExt as _;

use super::Fingerprint;

#[test]
fn mode_owner_content_and_symlink_targets_count_reads_do_not() {
    let dir = std::env::temp_dir().join(format!("frontdoor-fingerprint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).expect("mkdir");
    let file = dir.join("a-1.0.0.so");
    std::fs::write(&file, b"bytes").expect("write");
    let first = Fingerprint::of_path(&file).expect("fingerprint");
    let _ = std::fs::read(&file).expect("read");
    assert_eq!(Fingerprint::of_path(&file).expect("fingerprint"), first);

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let chmodded = Fingerprint::of_path(&file).expect("fingerprint");
    assert_ne!(chmodded, first, "a mode change counts");
    assert!(chmodded.same_content(&first), "but it is the same content");
    std::os::unix::fs::chown(&file, Some(4242), None).expect("chown (needs root)");
    assert_ne!(
        Fingerprint::of_path(&file).expect("fingerprint"),
        chmodded,
        "an owner change counts"
    );

    let link = dir.join("b-1.0.0.so");
    std::os::unix::fs::symlink(&file, &link).expect("symlink");
    let linked = Fingerprint::of_path(&link).expect("fingerprint");
    let other = dir.join("other");
    std::fs::write(&other, b"other bytes").expect("write");
    std::fs::rename(&other, &file).expect("replace the target");
    let relinked = Fingerprint::of_path(&link).expect("fingerprint");
    assert_ne!(relinked, linked, "a new target behind the same link counts");
    assert!(!relinked.same_content(&linked));
    std::fs::remove_dir_all(dir).expect("clean up");
}
