//! The plugins directory handled like the code it is: whatever sits under an artifact's
//! name is either a regular file the host's user (or root) alone could have written, within
//! the size limit, or it is refused with a reason, never skipped in silence; copies go to a
//! private directory the host made, are removed once mapped, and shutdown removes only
//! what the host made.
//!
//! The tests run as root, for whom mode bits never deny a read: a "permission denied"
//! cannot be produced here. What is shown instead is the host's own owner and mode rules,
//! and that a refused file is retried when its mode or owner (or its directory's) changes.

use std::{
    os::unix::fs::{MetadataExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
    process::Command,
};

use crate::support::{Fixture, TestHost, eventually, get};

const V1: Fixture = Fixture::Echo("1.0.0");
const V2: Fixture = Fixture::Echo("2.0.0");
const V3: Fixture = Fixture::Echo("3.0.0");

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Waits until `/admin/plugins` lists `file` as failed with a reason containing `expected`.
async fn wait_for_refusal(host: &TestHost, file: &str, expected: &str) {
    eventually(&format!("{file} refused with {expected:?}"), || async {
        let plugins = host.plugins().await;
        let reason = plugins["failed"]
            .as_array()
            .and_then(|failed| failed.iter().find(|failure| failure["file"] == file))
            .and_then(|failure| failure["reason"].as_str())
            .map(str::to_owned);
        match reason {
            Some(reason) if reason.contains(expected) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_refused_file_is_failed_with_its_reason_while_the_rest_serves() {
    let dir = TestHost::plugins_dir();
    let path = dir.path();
    V1.deploy_to(path);
    std::os::unix::fs::symlink("/dev/zero", path.join("zero-1.0.0.so")).expect("symlink");
    std::fs::create_dir(path.join("dir-1.0.0.so")).expect("mkdir");
    mkfifo(&path.join("fifo-1.0.0.so"));
    let _socket =
        std::os::unix::net::UnixListener::bind(path.join("socket-1.0.0.so")).expect("bind");
    // 200 MB of nothing (sparse), over the limit set below: refused before any copying.
    std::fs::File::create(path.join("big-1.0.0.so"))
        .and_then(|file| file.set_len(200 << 20))
        .expect("sparse file");
    let writable = V2.deploy_to(path);
    chmod(&writable, 0o666);

    let host = TestHost::start_with(dir, |config| {
        config.artifacts.max_artifact_bytes = 64 << 20;
    })
    .await;
    let expectations = [
        (
            "zero-1.0.0.so",
            "a symbolic link to /dev/zero: symlinks are refused unless artifacts.allow_symlinks = true",
        ),
        (
            "dir-1.0.0.so",
            "not a regular file but a directory: only regular files are loaded",
        ),
        ("fifo-1.0.0.so", "not a regular file but a FIFO"),
        ("socket-1.0.0.so", "not a regular file but a socket"),
        (
            "big-1.0.0.so",
            "209715200 bytes, over the limit of artifacts.max_artifact_bytes = 67108864: refused before copying",
        ),
        (
            "echo-2.0.0.so",
            "insecure permissions: the artifact is writable by group or others (mode 0666)",
        ),
    ];
    for (file, expected) in expectations {
        let reason = host.failure_reason(file).await;
        assert!(reason.contains(expected), "{file}: {reason}");
        assert!(!reason.contains('\n'), "{file}: one line: {reason}");
    }
    assert_eq!(get(&host.url("/echo/hello")).await.adapter(), "echo@1.0.0");

    // The same kinds arriving while the host runs are reported too, and the FIFO does not
    // block the deployer: a good artifact after them still loads.
    mkfifo(&host.dir().join("late-fifo-1.0.0.so"));
    std::fs::create_dir(host.dir().join("late-dir-1.0.0.so")).expect("mkdir");
    std::os::unix::fs::symlink("/dev/zero", host.dir().join("late-zero-1.0.0.so"))
        .expect("symlink");
    wait_for_refusal(&host, "late-fifo-1.0.0.so", "a FIFO").await;
    wait_for_refusal(&host, "late-dir-1.0.0.so", "a directory").await;
    wait_for_refusal(&host, "late-zero-1.0.0.so", "a symbolic link to /dev/zero").await;
    V3.rename_into(host.dir(), "echo-3.0.0.so");
    host.wait_for_version("/echo/hello", "echo@3.0.0").await;

    let plugins = host.plugins().await;
    assert_eq!(
        plugins["failed"].as_array().map(Vec::len),
        Some(expectations.len() + 3),
        "{plugins:#}"
    );
    // Only the two good artifacts were ever copied: every refusal came before copying.
    assert_eq!(plugins["copies"]["created_total"], 2, "{plugins:#}");
    assert_eq!(plugins["copies"]["files"], 0, "{plugins:#}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mode_and_owner_refusals_are_retried_when_fixed() {
    let host = TestHost::with(&[V1]).await;
    let dir = host.dir().to_owned();

    // Group-writable, renamed into place: refused; chmod go-w: loaded, no other change.
    let staged = dir.join(".echo-2.0.0.so.tmp");
    std::fs::copy(V2.artifact(), &staged).expect("stage");
    chmod(&staged, 0o664);
    std::fs::rename(&staged, dir.join("echo-2.0.0.so")).expect("rename");
    wait_for_refusal(
        &host,
        "echo-2.0.0.so",
        "the artifact is writable by group or others (mode 0664)",
    )
    .await;
    assert_eq!(get(&host.url("/echo/hello")).await.adapter(), "echo@1.0.0");
    chmod(&dir.join("echo-2.0.0.so"), 0o644);
    host.wait_for_version("/echo/hello", "echo@2.0.0").await;

    // Owned by another user: refused; given to root: loaded.
    let staged = dir.join(".echo-3.0.0.so.tmp");
    std::fs::copy(V3.artifact(), &staged).expect("stage");
    std::os::unix::fs::chown(&staged, Some(4242), Some(4242)).expect("chown (needs root)");
    std::fs::rename(&staged, dir.join("echo-3.0.0.so")).expect("rename");
    wait_for_refusal(
        &host,
        "echo-3.0.0.so",
        "the artifact is owned by uid 4242, not by this host's user (uid 0) or root",
    )
    .await;
    std::os::unix::fs::chown(dir.join("echo-3.0.0.so"), Some(0), Some(0)).expect("chown");
    host.wait_for_version("/echo/hello", "echo@3.0.0").await;

    // A group-writable plugins directory: whatever arrives is refused; fixing the directory
    // (nothing about the file changes) retries it.
    chmod(&dir, 0o775);
    Fixture::Bench.rename_into(&dir, "bench-1.0.0.so");
    wait_for_refusal(
        &host,
        "bench-1.0.0.so",
        "the plugins directory is writable by group or others (mode 0775)",
    )
    .await;
    assert_eq!(get(&host.url("/echo/hello")).await.adapter(), "echo@3.0.0");
    chmod(&dir, 0o755);
    host.wait_for_version("/bench/hello", "bench@1.0.0").await;
    let plugins = host.plugins().await;
    assert_eq!(plugins["failed"], serde_json::json!([]), "{plugins:#}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_symlinks_load_their_target_and_still_refuse_what_is_not_a_file() {
    let dir = TestHost::plugins_dir();
    std::os::unix::fs::symlink(V1.artifact(), dir.path().join("echo-1.0.0.so")).expect("symlink");
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero-1.0.0.so")).expect("symlink");
    let host = TestHost::start_with(dir, |config| config.artifacts.allow_symlinks = true).await;
    host.wait_for_version("/echo/hello", "echo@1.0.0").await;
    let reason = host.failure_reason("zero-1.0.0.so").await;
    assert_eq!(
        reason,
        "not a regular file but a character device behind a symbolic link: only regular files are loaded"
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pre_created_copies_directory_is_never_used_and_shutdown_removes_only_what_the_host_made()
{
    let parent = tempfile::Builder::new()
        .prefix("frontdoor-test-copies-parent-")
        .tempdir()
        .expect("parent");
    // What an attacker or a careless operator left where the old host put its copies
    // (`frontdoor-{pid}-{n}`), and an operator's own file.
    let attacker = tempfile::tempdir().expect("attacker dir");
    let pid = std::process::id();
    std::os::unix::fs::symlink(
        attacker.path(),
        parent.path().join(format!("frontdoor-{pid}-0")),
    )
    .expect("planted symlink");
    let squatted = parent.path().join(format!("frontdoor-{pid}-1"));
    std::fs::create_dir(&squatted).expect("squatted dir");
    std::fs::write(squatted.join("theirs.so"), b"theirs").expect("write");
    std::fs::write(parent.path().join("operator-notes.txt"), b"keep me").expect("write");
    let before = listing(parent.path());

    let copies_parent = parent.path().to_owned();
    let host = TestHost::with_config(&[V1], move |config| {
        config.copies_dir = copies_parent;
        // A copy stays while the host runs, to show where copies go.
        config.artifacts.keep_copies = true;
    })
    .await;
    let plugins = host.plugins().await;
    let private = PathBuf::from(plugins["copies"]["dir"].as_str().expect("copies dir"));
    assert_eq!(private.parent(), Some(parent.path()));
    assert!(
        !before.contains(&private),
        "a fresh directory, none of the pre-created ones: {}",
        private.display()
    );
    let metadata = std::fs::symlink_metadata(&private).expect("stat");
    assert!(metadata.is_dir());
    assert_eq!(metadata.mode() & 0o7777, 0o700);
    // /proc/self is owned by this process's effective user, the host's (in-process).
    let me = std::fs::metadata("/proc/self")
        .expect("stat /proc/self")
        .uid();
    assert_eq!(metadata.uid(), me, "owned by the host's user");
    assert_eq!(plugins["copies"]["files"], 1);
    assert_eq!(copies_in(&private).len(), 1);
    assert!(
        private.join(HELD_MARKER).is_file(),
        "held by this running host, so no other host sweeps it"
    );
    assert!(listing(attacker.path()).is_empty());

    host.stop().await;
    assert_eq!(
        listing(parent.path()),
        before,
        "the host removed its own directory and nothing else"
    );
    assert_eq!(
        std::fs::read(parent.path().join("operator-notes.txt")).expect("operator file"),
        b"keep me"
    );
    assert_eq!(
        std::fs::read(squatted.join("theirs.so")).expect("their file"),
        b"theirs"
    );
    assert!(listing(attacker.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_are_removed_once_loaded_so_the_directory_stays_bounded() {
    const SWAPS: usize = 12;
    let host = TestHost::with(&[]).await;
    for swap in 0..SWAPS {
        let (fixture, label) = if swap % 2 == 0 {
            (V2, "echo@2.0.0")
        } else {
            (V3, "echo@3.0.0")
        };
        fixture.rename_into(host.dir(), "echo-live.so");
        host.wait_for_version("/echo/hello", label).await;
        let plugins = host.plugins().await;
        let private = PathBuf::from(plugins["copies"]["dir"].as_str().expect("copies dir"));
        assert_eq!(plugins["copies"]["files"], 0, "swap {swap}: {plugins:#}");
        assert_eq!(plugins["copies"]["bytes"], 0);
        assert!(copies_in(&private).is_empty(), "swap {swap}");
        assert_eq!(plugins["copies"]["created_total"], swap + 1);
    }
    host.stop().await;

    // With keep_copies, exactly one copy per mapped library (for profilers), no more.
    let host = TestHost::with_config(&[], |config| config.artifacts.keep_copies = true).await;
    for (fixture, label) in [(V2, "echo@2.0.0"), (V3, "echo@3.0.0"), (V2, "echo@2.0.0")] {
        fixture.rename_into(host.dir(), "echo-live.so");
        host.wait_for_version("/echo/hello", label).await;
    }
    let plugins = host.plugins().await;
    let mapped = 1 + plugins["retired"]["count"].as_u64().expect("retired count");
    assert_eq!(plugins["copies"]["files"], mapped, "{plugins:#}");
    let private = PathBuf::from(plugins["copies"]["dir"].as_str().expect("copies dir"));
    assert_eq!(copies_in(&private).len() as u64, mapped);
    host.stop().await;
    assert!(!private.exists());
}

/// The file a running host keeps in its copies directory (see `loader/copies/abandoned.rs`).
const HELD_MARKER: &str = ".held-by-a-running-host";

/// The copies in a host's private directory: all but its marker.
fn copies_in(private: &Path) -> Vec<PathBuf> {
    listing(private)
        .into_iter()
        .filter(|path| !path.ends_with(HELD_MARKER))
        .collect()
}

/// The entries of `dir`, sorted.
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list")
        .map(|entry| entry.expect("entry").path())
        .collect();
    entries.sort();
    entries
}
