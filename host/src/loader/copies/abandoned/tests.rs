//! Which copies directories a starting host removes: only its user's, of the drawn name
//! pattern, marked, and not locked by a running host; and only their plain files.

use std::{
    fs,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
};

use super::*;
use crate::loader::copies::CopiesDir;

/// A private parent under the temp directory, removed at the end.
struct Parent(tempfile::TempDir);

impl Parent {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("frontdoor-abandoned-test-")
            .tempdir()
            .expect("parent");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
        Self(dir)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    /// A directory as a host that was killed leaves it: marked, a copy inside, no lock.
    fn left_by_a_killed_host(&self, name: &str) -> PathBuf {
        let dir = self.path().join(name);
        fs::create_dir(&dir).expect("dir");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod");
        fs::write(dir.join(MARKER), b"").expect("marker");
        fs::write(dir.join("000001-tv-1.0.0.so"), b"a kept copy").expect("copy");
        dir
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.path())
            .expect("list")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .into_string()
                    .expect("utf-8")
            })
            .collect();
        names.sort();
        names
    }
}

const GONE: &str = "frontdoor-00000000000000aa";
const GONE_TOO: &str = "frontdoor-0123456789abcdef";

fn start_host(parent: &Parent) -> CopiesDir {
    CopiesDir::create(parent.path(), false, false).expect("copies dir")
}

#[test]
fn only_the_names_hosts_draw_are_looked_at() {
    assert!(is_copies_name(GONE));
    assert!(is_copies_name(GONE_TOO));
    for other in [
        "frontdoor-0123456789ABCDEF",
        "frontdoor-0123456789abcde",
        "frontdoor-0123456789abcdef0",
        "frontdoor-0123456789abcdeg",
        "frontdoor-1234-0",
        "frontdoor-test-plugins-x",
        "Frontdoor-0123456789abcdef",
        "x-frontdoor-0123456789abcdef",
    ] {
        assert!(!is_copies_name(other), "{other}");
    }
    // The pattern is the one `CopiesDir` draws its names from.
    for drawn in crate::loader::copies::random_names().take(100) {
        assert!(is_copies_name(&drawn), "{drawn}");
    }
}

#[test]
fn a_starting_host_removes_the_directories_of_hosts_that_are_gone() {
    let parent = Parent::new();
    parent.left_by_a_killed_host(GONE);
    parent.left_by_a_killed_host(GONE_TOO);

    let host = start_host(&parent);
    let own = host.stats().dir;
    assert_eq!(
        parent.names(),
        [own.file_name()
            .and_then(|name| name.to_str())
            .expect("a name")],
        "both are gone, its own is there"
    );
    host.close();
    assert!(parent.names().is_empty(), "and its own goes at shutdown");
}

#[test]
fn a_running_hosts_directory_is_left_whatever_it_holds() {
    let parent = Parent::new();
    let running = start_host(&parent);
    let running_dir = running.stats().dir;
    let mapped = running_dir.join("000001-tv-1.0.0.so");
    fs::write(&mapped, b"mapped").expect("copy");

    // A second host (another open file of the directory, so its lock is refused even in
    // this process) leaves it.
    let second = start_host(&parent);
    assert!(running_dir.join(MARKER).is_file());
    assert_eq!(fs::read(&mapped).expect("copy"), b"mapped");

    fs::remove_file(&mapped).expect("remove");
    running.close();
    second.close();
    assert!(parent.names().is_empty(), "{:?}", parent.names());
}

#[test]
fn a_directory_without_the_marker_is_left_its_host_may_be_starting() {
    let parent = Parent::new();
    let starting = parent.path().join(GONE);
    fs::create_dir(&starting).expect("dir");
    fs::write(starting.join("000001-tv-1.0.0.so"), b"copy").expect("copy");

    let host = start_host(&parent);
    assert!(starting.join("000001-tv-1.0.0.so").is_file());
    host.close();
    assert_eq!(parent.names(), [GONE]);
}

#[test]
fn symlinks_files_and_subdirectories_are_never_removed() {
    let parent = Parent::new();
    let elsewhere = tempfile::tempdir().expect("elsewhere");
    fs::write(elsewhere.path().join(MARKER), b"").expect("marker");
    fs::write(elsewhere.path().join("precious"), b"keep").expect("file");
    // A symlink under a drawn name to a marked directory, and a plain file under one.
    std::os::unix::fs::symlink(elsewhere.path(), parent.path().join(GONE)).expect("symlink");
    fs::write(parent.path().join(GONE_TOO), b"a file").expect("file");
    // A gone host's directory that also holds a subdirectory (nobody's but ours could):
    // its plain files go, the subdirectory and so the directory stay.
    let gone = parent.left_by_a_killed_host("frontdoor-ffffffffffffffff");
    fs::create_dir(gone.join("nested")).expect("nested");
    fs::write(gone.join("nested").join("inner"), b"inner").expect("inner");

    let host = start_host(&parent);
    host.close();
    assert_eq!(
        fs::read(elsewhere.path().join("precious")).expect("precious"),
        b"keep"
    );
    assert!(elsewhere.path().join(MARKER).is_file());
    assert_eq!(
        fs::read(parent.path().join(GONE_TOO)).expect("file"),
        b"a file"
    );
    assert!(gone.join("nested").join("inner").is_file());
    assert!(!gone.join("000001-tv-1.0.0.so").exists());
    assert_eq!(
        parent.names(),
        [GONE, GONE_TOO, "frontdoor-ffffffffffffffff"]
    );
}

#[test]
fn under_a_parent_others_may_rename_in_nothing_is_removed() {
    // With `allow_insecure_permissions`, a parent anyone may write to without the sticky
    // bit: another user could swap a gone host's directory for theirs mid-removal.
    let parent = Parent::new();
    fs::set_permissions(parent.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
    let gone = parent.left_by_a_killed_host(GONE);

    let host = CopiesDir::create(parent.path(), false, true).expect("copies dir");
    host.close();
    assert!(gone.join("000001-tv-1.0.0.so").is_file());
    assert_eq!(parent.names(), [GONE]);
}
