//! Every kind of file a plugins directory can hold, opened the way the loader opens them.

use std::{
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::Command,
};

use super::open;
use crate::loader::{ArtifactsConfig, LoadError};

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "frontdoor-source-test-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).expect("scratch dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Self(dir)
    }

    fn file(&self, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn refusal(path: &Path, config: &ArtifactsConfig) -> String {
    match open(path, config) {
        Ok(_) => panic!("{} was accepted", path.display()),
        Err(error) => error.to_string(),
    }
}

#[test]
fn a_plain_file_is_opened_and_its_size_read_from_the_descriptor() {
    let scratch = Scratch::new("plain");
    let path = scratch.file("a-1.0.0.so", b"0123456789", 0o644);
    let source = open(&path, &ArtifactsConfig::default()).expect("opens");
    assert_eq!(source.len(), 10);
}

#[test]
fn a_symlink_is_refused_by_default_and_its_target_named() {
    let scratch = Scratch::new("symlink");
    let link = scratch.0.join("zero-1.0.0.so");
    std::os::unix::fs::symlink("/dev/zero", &link).expect("symlink");
    let reason = refusal(&link, &ArtifactsConfig::default());
    assert!(
        reason.contains("symbolic link") && reason.contains("/dev/zero"),
        "{reason}"
    );
}

#[test]
fn an_allowed_symlink_is_followed_but_its_target_is_vetted_like_a_file() {
    let scratch = Scratch::new("allowed-symlink");
    let allow = ArtifactsConfig {
        allow_symlinks: true,
        ..ArtifactsConfig::default()
    };
    let real = scratch.file(".real", b"bytes", 0o644);
    let good = scratch.0.join("good-1.0.0.so");
    std::os::unix::fs::symlink(&real, &good).expect("symlink");
    assert_eq!(open(&good, &allow).expect("followed").len(), 5);

    let zero = scratch.0.join("zero-1.0.0.so");
    std::os::unix::fs::symlink("/dev/zero", &zero).expect("symlink");
    let reason = refusal(&zero, &allow);
    assert!(
        reason.contains("a character device") && reason.contains("symbolic link"),
        "{reason}"
    );
}

#[test]
fn directories_fifos_and_sockets_are_refused_without_blocking() {
    let scratch = Scratch::new("kinds");
    let dir = scratch.0.join("dir-1.0.0.so");
    std::fs::create_dir(&dir).expect("mkdir");
    assert!(refusal(&dir, &ArtifactsConfig::default()).contains("a directory"));

    let fifo = scratch.0.join("fifo-1.0.0.so");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    // No writer ever opens it: a blocking open would hang this test forever.
    assert!(refusal(&fifo, &ArtifactsConfig::default()).contains("a FIFO"));

    let socket = scratch.0.join("socket-1.0.0.so");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
    assert!(refusal(&socket, &ArtifactsConfig::default()).contains("a socket"));
}

#[test]
fn size_limits_are_checked_on_the_descriptor() {
    let scratch = Scratch::new("size");
    let empty = scratch.file("empty-1.0.0.so", b"", 0o644);
    assert!(matches!(
        open(&empty, &ArtifactsConfig::default()),
        Err(LoadError::Empty)
    ));
    let big = scratch.file("big-1.0.0.so", &[7; 4096], 0o644);
    let small_limit = ArtifactsConfig {
        max_artifact_bytes: 4095,
        ..ArtifactsConfig::default()
    };
    let reason = refusal(&big, &small_limit);
    assert!(
        reason.contains("4096 bytes") && reason.contains("max_artifact_bytes"),
        "{reason}"
    );
    let exact = ArtifactsConfig {
        max_artifact_bytes: 4096,
        ..ArtifactsConfig::default()
    };
    open(&big, &exact).expect("at the limit is fine");
}

#[test]
fn shared_write_access_to_the_file_or_its_directory_is_refused_unless_allowed() {
    let scratch = Scratch::new("modes");
    let open_to_all = scratch.file("w-1.0.0.so", b"bytes", 0o666);
    let reason = refusal(&open_to_all, &ArtifactsConfig::default());
    assert!(
        reason.contains("the artifact is writable by group or others (mode 0666)"),
        "{reason}"
    );
    let lax = ArtifactsConfig {
        allow_insecure_permissions: true,
        ..ArtifactsConfig::default()
    };
    open(&open_to_all, &lax).expect("allowed explicitly");

    let fine = scratch.file("f-1.0.0.so", b"bytes", 0o644);
    std::fs::set_permissions(&scratch.0, std::fs::Permissions::from_mode(0o775)).expect("chmod");
    let reason = refusal(&fine, &ArtifactsConfig::default());
    assert!(
        reason.contains("the plugins directory is writable by group or others (mode 0775)"),
        "{reason}"
    );
}
