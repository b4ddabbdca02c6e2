//! The private copies directory: exclusive creation, exact copies, removal of what the host
//! made and nothing else.

use std::{
    os::unix::fs::{MetadataExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
};

use super::CopiesDir;
use crate::loader::{ArtifactsConfig, source};

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "frontdoor-copies-test-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).expect("scratch dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|name| (*name).to_owned()).collect()
}

fn artifact(dir: &Path, bytes: &[u8]) -> PathBuf {
    let path = dir.join("a-1.0.0.so");
    std::fs::write(&path, bytes).expect("write artifact");
    path
}

#[test]
fn a_directory_or_symlink_already_at_the_drawn_name_is_never_used() {
    let scratch = Scratch::new("squatted");
    let parent = scratch.0.join("parent");
    std::fs::create_dir(&parent).expect("mkdir");
    // Someone made the first name a directory of theirs, the second a symlink to another.
    let squatted = parent.join("first");
    std::fs::create_dir(&squatted).expect("mkdir squatted");
    std::fs::write(squatted.join("theirs"), b"keep").expect("write");
    let elsewhere = scratch.0.join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("mkdir elsewhere");
    std::os::unix::fs::symlink(&elsewhere, parent.join("second")).expect("symlink");

    let copies =
        CopiesDir::create_with_names(&parent, false, false, names(&["first", "second", "third"]))
            .expect("a fresh name is drawn");
    assert_eq!(copies.dir.as_path(), parent.join("third"));
    let metadata = std::fs::symlink_metadata(copies.dir.as_path()).expect("stat");
    assert!(metadata.is_dir());
    assert_eq!(metadata.mode() & 0o7777, 0o700);

    let source_path = artifact(&scratch.0, b"library bytes");
    let source = source::open(&source_path, &ArtifactsConfig::default()).expect("open");
    let copy = copies.copy(&source, "a-1.0.0.so").expect("copy");
    assert!(copy.path.starts_with(parent.join("third")));
    drop(copy);
    copies.close();

    assert_eq!(
        std::fs::read(squatted.join("theirs")).expect("their file"),
        b"keep"
    );
    assert_eq!(
        std::fs::read_dir(&elsewhere).expect("list").count(),
        0,
        "nothing was written through the planted symlink"
    );
    assert!(!parent.join("third").exists(), "our directory is gone");
}

#[test]
fn a_parent_others_can_rename_in_is_refused_unless_sticky() {
    let scratch = Scratch::new("parent-modes");
    let open_parent = scratch.0.join("open");
    std::fs::create_dir(&open_parent).expect("mkdir");
    std::fs::set_permissions(&open_parent, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let error = CopiesDir::create(&open_parent, false, false).expect_err("refused");
    assert!(
        error.to_string().contains("writable by group or others"),
        "{error}"
    );
    std::fs::set_permissions(&open_parent, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    let copies = CopiesDir::create(&open_parent, false, false).expect("sticky like /tmp");
    copies.close();
}

#[test]
fn a_missing_parent_is_created_private() {
    let scratch = Scratch::new("missing-parent");
    let parent = scratch.0.join("a/b");
    let copies = CopiesDir::create(&parent, false, false).expect("created");
    assert_eq!(
        std::fs::metadata(&parent).expect("stat").mode() & 0o777,
        0o700
    );
    copies.close();
}

#[test]
fn copies_are_exact_counted_and_removed_when_released_unless_kept() {
    let scratch = Scratch::new("lifecycle");
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let source_path = artifact(&scratch.0, &bytes);

    let copies = CopiesDir::create(&scratch.0.join("copies"), false, false).expect("create");
    let source = source::open(&source_path, &ArtifactsConfig::default()).expect("open");
    let copy = copies.copy(&source, "a-1.0.0.so").expect("copy");
    assert_eq!(std::fs::read(&copy.path).expect("read copy"), bytes);
    assert_eq!(
        std::fs::metadata(&copy.path).expect("stat").mode() & 0o777,
        0o600
    );
    copy.path_is_ours().expect("the path names our copy");
    let stats = copies.stats();
    assert_eq!((stats.files, stats.bytes), (1, bytes.len() as u64));
    let path = copy.path.clone();
    copies.release(copy, true);
    assert!(!path.exists(), "removed: keep_copies is off");
    assert_eq!(copies.stats().files, 0);
    assert_eq!(copies.stats().created_total, 1);
    copies.close();

    let keeping = CopiesDir::create(&scratch.0.join("kept"), true, false).expect("create");
    let source = source::open(&source_path, &ArtifactsConfig::default()).expect("open");
    let mapped = keeping.copy(&source, "a-1.0.0.so").expect("copy");
    let mapped_path = mapped.path.clone();
    keeping.release(mapped, true);
    let unmapped = keeping.copy(&source, "a-1.0.0.so").expect("copy");
    let unmapped_path = unmapped.path.clone();
    keeping.release(unmapped, false);
    assert!(mapped_path.exists(), "a mapped library's copy is kept");
    assert!(!unmapped_path.exists(), "a copy nothing maps is removed");
    assert_eq!(keeping.stats().files, 1);
    keeping.close();
    assert!(!mapped_path.exists());
    assert!(keeping.copy(&source, "a-1.0.0.so").is_err(), "closed");
}

#[test]
fn close_leaves_files_the_host_did_not_make() {
    let scratch = Scratch::new("foreign");
    let copies = CopiesDir::create(&scratch.0.join("copies"), true, false).expect("create");
    let source_path = artifact(&scratch.0, b"bytes");
    let source = source::open(&source_path, &ArtifactsConfig::default()).expect("open");
    let copy = copies.copy(&source, "a-1.0.0.so").expect("copy");
    let ours = copy.path.clone();
    copies.release(copy, true);
    let foreign = copies.dir.as_path().join("operator-notes.txt");
    std::fs::write(&foreign, b"mine").expect("write");
    copies.close();
    assert!(!ours.exists());
    assert_eq!(std::fs::read(&foreign).expect("kept"), b"mine");
}

#[test]
fn a_swapped_path_is_detected_before_it_is_opened() {
    let scratch = Scratch::new("swapped");
    let copies = CopiesDir::create(&scratch.0.join("copies"), false, false).expect("create");
    let source_path = artifact(&scratch.0, b"bytes");
    let source = source::open(&source_path, &ArtifactsConfig::default()).expect("open");
    let copy = copies.copy(&source, "a-1.0.0.so").expect("copy");
    std::fs::remove_file(&copy.path).expect("unlink");
    std::fs::write(&copy.path, b"other").expect("replace");
    let error = copy.path_is_ours().expect_err("swapped");
    assert!(error.to_string().contains("no longer names"), "{error}");
    drop(copy);
    copies.close();
}
