//! The audit log: bounded in memory, appended to its file, read back after a restart.

use serde_json::json;

use super::*;

#[test]
fn entries_survive_reopening_and_a_torn_line_is_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = AuditLog::open(dir.path()).expect("opens");
    log.record(
        "tv-team",
        "pin",
        "adapter tv",
        json!({}),
        json!({"pin": "1.0.0"}),
    );
    log.record(
        "platform",
        "unpin",
        "adapter tv",
        json!({"pin": "1.0.0"}),
        json!({}),
    );
    drop(log);
    // A crash in the middle of a write leaves a partial last line.
    let mut file = OpenOptions::new()
        .append(true)
        .open(dir.path().join(FILE_NAME))
        .expect("open");
    file.write_all(b"{\"at_unix_ms\": 12, \"te").expect("write");
    drop(file);

    let log = AuditLog::open(dir.path()).expect("reopens");
    let entries = log.recent(10);
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].team, "tv-team");
    assert_eq!(entries[0].after, json!({"pin": "1.0.0"}));
    assert_eq!(entries[1].action, "unpin");
    assert_eq!(log.recent(1)[0].action, "unpin", "the most recent");
}

#[test]
fn memory_keeps_the_most_recent_entries_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = AuditLog::open(dir.path()).expect("opens");
    for index in 0..(KEPT + 3) {
        log.record(
            "t",
            "pin",
            &format!("adapter a{index}"),
            json!({}),
            json!({}),
        );
    }
    let entries = log.recent(usize::MAX);
    assert_eq!(entries.len(), KEPT);
    assert_eq!(entries[0].target, "adapter a3");
    let lines = std::fs::read_to_string(dir.path().join(FILE_NAME))
        .expect("read")
        .lines()
        .count();
    assert_eq!(lines, KEPT + 3, "the file keeps everything");
}
