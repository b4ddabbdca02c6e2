//! Markers survive a host that dies mid-load, refuse the same file, and let a changed one go.

use std::path::PathBuf;

use super::{ContentId, LoadMarkers, StateDirError};
use crate::loader::LoadError;

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "frontdoor-markers-test-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).expect("scratch dir");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn content_of(path: &std::path::Path) -> ContentId {
    ContentId::of(&std::fs::metadata(path).expect("stat"))
}

#[test]
fn a_finished_load_leaves_no_marker() {
    let scratch = Scratch::new("finished");
    let source = scratch.0.join("a-1.0.0.so");
    std::fs::write(&source, b"bytes").expect("write");
    let markers = LoadMarkers::open(&scratch.0.join("state"), None).expect("open");
    let in_progress = markers
        .begin(&source, content_of(&source), Some("a@1.0.0"))
        .expect("begin");
    let marker = scratch.0.join(format!(
        "state/loading/a-1.0.0.so.{}.json",
        std::process::id()
    ));
    assert!(marker.exists(), "written before the library is opened");
    drop(in_progress);
    assert!(!marker.exists(), "removed once the load returned");
    markers.close();
    let again = LoadMarkers::open(&scratch.0.join("state"), None).expect("reopen");
    again
        .refuse_if_crashed(&source, &content_of(&source))
        .expect("nothing to refuse");
}

#[test]
fn a_host_that_died_mid_load_refuses_the_same_file_and_loads_a_changed_one() {
    let scratch = Scratch::new("died");
    let state = scratch.0.join("state");
    let source = scratch.0.join("bad-1.0.0.so");
    std::fs::write(&source, b"kills its host").expect("write");
    let content = content_of(&source);
    {
        let markers = LoadMarkers::open(&state, None).expect("open");
        // The host dies inside dlopen: the marker is never removed.
        std::mem::forget(markers.begin(&source, content, Some("bad@1.0.0")));
        markers.close();
    }

    let restarted = LoadMarkers::open(&state, None).expect("reopen");
    assert_eq!(
        restarted.crashed().keys().cloned().collect::<Vec<_>>(),
        vec![source.clone()]
    );
    let error = restarted
        .refuse_if_crashed(&source, &content)
        .expect_err("same file refused");
    assert!(matches!(error, LoadError::HostDiedLoading { .. }));
    assert_eq!(error.plugin(), Some("bad@1.0.0"));
    let reason = error.to_string();
    assert!(
        reason.contains("the host died while loading it")
            && reason.contains(&format!("inode {}", content.inode))
            && reason.contains("14 bytes"),
        "{reason}"
    );
    // Still refused at the next start too: no crash loop, and no forgetting.
    restarted.close();
    let third = LoadMarkers::open(&state, None).expect("reopen");
    third
        .refuse_if_crashed(&source, &content)
        .expect_err("still refused");

    // A fixed build renamed into place: another inode, loaded again, marker gone.
    let fixed = scratch.0.join(".fixed");
    std::fs::write(&fixed, b"a fixed build").expect("write");
    std::fs::rename(&fixed, &source).expect("rename");
    third
        .refuse_if_crashed(&source, &content_of(&source))
        .expect("changed file goes through");
    assert!(third.crashed().is_empty());
    assert!(
        !state
            .join(format!("loading/bad-1.0.0.so.{}.json", std::process::id()))
            .exists()
    );
}

#[test]
fn one_host_per_state_directory() {
    let scratch = Scratch::new("lock");
    let state = scratch.0.join("state");
    let first = LoadMarkers::open(&state, None).expect("open");
    let second = LoadMarkers::open(&state, None).expect_err("locked");
    assert!(matches!(second, StateDirError::InUse { .. }), "{second}");
    assert!(
        second
            .to_string()
            .contains("in use by another frontdoor host")
    );
    first.close();
    LoadMarkers::open(&state, None).expect("free after close");
}

#[test]
fn markers_of_removed_files_and_unreadable_markers_are_dropped() {
    let scratch = Scratch::new("prune");
    let state = scratch.0.join("state");
    let source = scratch.0.join("gone-1.0.0.so");
    std::fs::write(&source, b"bytes").expect("write");
    {
        let markers = LoadMarkers::open(&state, None).expect("open");
        std::mem::forget(markers.begin(&source, content_of(&source), None));
        markers.close();
    }
    std::fs::remove_file(&source).expect("remove");
    std::fs::write(state.join("loading/garbage.json"), b"{not json").expect("write");
    std::fs::write(state.join("loading/cut-short.json.tmp"), b"{\"sou").expect("write");
    let markers = LoadMarkers::open(&state, None).expect("reopen");
    assert!(markers.crashed().is_empty());
    assert_eq!(
        std::fs::read_dir(state.join("loading"))
            .expect("list")
            .count(),
        0
    );
}

#[test]
fn a_successor_skips_its_live_predecessors_markers_and_refuses_a_dead_hosts() {
    let scratch = Scratch::new("successor");
    let state = scratch.0.join("state");
    let (busy, dead) = (
        scratch.0.join("busy-1.0.0.so"),
        scratch.0.join("dead-1.0.0.so"),
    );
    std::fs::write(&busy, b"being loaded by the old host").expect("write");
    std::fs::write(&dead, b"killed a host").expect("write");
    let old = LoadMarkers::open(&state, None).expect("open");
    // The old host is inside a load while its successor starts...
    let in_progress = old.begin(&busy, content_of(&busy), None).expect("begin");
    // ...and a host before it (another pid) died loading another file.
    let marker = serde_json::json!({
        "source": dead, "content": content_of(&dead), "plugin": null, "started_unix_ms": 0
    });
    std::fs::write(
        state.join("loading/dead-1.0.0.so.999999999.json"),
        marker.to_string(),
    )
    .expect("write");

    // Another host cannot take the directory; the successor, given the old host's lock, can.
    let refused = LoadMarkers::open(&state, None).expect_err("locked");
    assert!(matches!(refused, StateDirError::InUse { .. }), "{refused}");
    let shared = std::fs::File::from(old.share_lock().expect("share"));
    let successor = LoadMarkers::open(
        &state,
        Some(super::InheritedLock {
            file: shared,
            predecessor_pid: std::process::id(),
        }),
    )
    .expect("successor");
    successor
        .refuse_if_crashed(&busy, &content_of(&busy))
        .expect("a live host's load is no crash");
    let error = successor
        .refuse_if_crashed(&dead, &content_of(&dead))
        .expect_err("a dead host's marker refuses its file");
    assert!(
        matches!(error, LoadError::HostDiedLoading { .. }),
        "{error}"
    );
    // The old host's marker is untouched and removed by the old host itself.
    let busy_marker = state.join(format!("loading/busy-1.0.0.so.{}.json", std::process::id()));
    assert!(busy_marker.exists());
    drop(in_progress);
    assert!(!busy_marker.exists());

    // The old host leaves: the directory stays locked by the successor.
    old.close();
    let still = LoadMarkers::open(&state, None).expect_err("still locked");
    assert!(matches!(still, StateDirError::InUse { .. }), "{still}");
    successor.close();
    LoadMarkers::open(&state, None).expect("free once both are gone");
}

#[test]
fn a_handed_lock_of_another_file_is_refused() {
    let scratch = Scratch::new("foreign-lock");
    let state = scratch.0.join("state");
    std::fs::create_dir_all(&state).expect("state");
    std::fs::write(state.join("lock"), b"").expect("lock file");
    let foreign = std::fs::File::create(scratch.0.join("other")).expect("other");
    let error = LoadMarkers::open(
        &state,
        Some(super::InheritedLock {
            file: foreign,
            predecessor_pid: 1,
        }),
    )
    .expect_err("refused");
    assert!(matches!(error, StateDirError::NotOurLock { .. }), "{error}");
}
