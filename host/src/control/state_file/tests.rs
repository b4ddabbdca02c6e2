//! The state file: round trips, atomic replacement, refusals that name the file.

use super::*;

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn sample() -> ControlState {
    let mut state = ControlState::default();
    let echo = state.adapters.entry("echo".into()).or_default();
    echo.pin = Some(Version::new(1, 0, 0));
    echo.disabled.insert(Version::new(2, 0, 0));
    state.modules.entry("artwork".into()).or_default().pin = Some(Version::new(1, 0, 0));
    state
}

#[test]
fn no_file_is_the_empty_state_and_a_saved_state_reads_back() {
    let dir = dir();
    let file = StateFile::in_dir(dir.path());
    assert_eq!(file.load().expect("empty"), ControlState::default());
    file.save(&sample()).expect("saved");
    assert_eq!(file.load().expect("loads"), sample());
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, vec![FILE_NAME.to_owned()]);
}

#[test]
fn the_policy_follows_the_state() {
    let policy = sample().policy();
    assert_eq!(policy.adapter_pins["echo"], Version::new(1, 0, 0));
    assert!(policy.is_disabled("echo", &Version::new(2, 0, 0)));
    assert!(!policy.is_disabled("echo", &Version::new(1, 0, 0)));
    assert_eq!(policy.module_pins["artwork"], Version::new(1, 0, 0));
}

#[test]
fn a_corrupt_file_is_an_error_naming_it() {
    let dir = dir();
    let file = StateFile::in_dir(dir.path());
    std::fs::write(
        file.path(),
        b"{\"format\": 1, \"adapters\": {\"echo\": {\"pin\": \"one\"}}}",
    )
    .expect("write");
    let error = file.load().expect_err("corrupt").to_string();
    assert!(
        error.contains(&file.path().display().to_string()),
        "{error}"
    );
    assert!(error.contains("corrupt"), "{error}");
    std::fs::write(file.path(), b"{\"format\": 1, \"adap").expect("write");
    assert!(matches!(file.load(), Err(StateFileError::Corrupt { .. })));
}

#[test]
fn a_file_of_a_newer_format_is_refused() {
    let dir = dir();
    let file = StateFile::in_dir(dir.path());
    std::fs::write(file.path(), b"{\"format\": 99}").expect("write");
    let error = file.load().expect_err("newer").to_string();
    assert!(error.contains("format 99"), "{error}");
}

#[test]
fn sections_of_a_newer_host_are_kept_and_missing_sections_default() {
    let dir = dir();
    let file = StateFile::in_dir(dir.path());
    std::fs::write(
        file.path(),
        br#"{"format": 1, "fleet": {"hosts": {"a": {"weight": 5}}}}"#,
    )
    .expect("write");
    let mut state = file.load().expect("loads");
    assert!(state.adapters.is_empty());
    state.adapters.entry("echo".into()).or_default().pin = Some(Version::new(1, 0, 0));
    file.save(&state).expect("saved");
    let text = std::fs::read_to_string(file.path()).expect("read");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(json["fleet"]["hosts"]["a"]["weight"], 5, "{text}");
    assert_eq!(json["adapters"]["echo"]["pin"], "1.0.0", "{text}");
}

#[test]
fn prune_drops_entries_that_decide_nothing() {
    let mut state = sample();
    state.adapters.entry("idle".into()).or_default();
    state.modules.entry("artwork".into()).or_default().pin = None;
    state.prune();
    assert!(state.adapters.contains_key("echo"));
    assert!(!state.adapters.contains_key("idle"));
    assert!(state.modules.is_empty());
}

#[test]
fn only_the_most_recent_lifts_are_kept() {
    let mut control = AdapterControl::default();
    for minor in 0..(LIFTS_KEPT as u64 + 5) {
        control.remember_lift(LiftedQuarantine {
            version: Version::new(1, minor, 0),
            reason: "panics".into(),
            team: "t".into(),
            at_unix_ms: 0,
        });
    }
    assert_eq!(control.lifted_quarantines.len(), LIFTS_KEPT);
    assert_eq!(control.lifted_quarantines[0].version, Version::new(1, 5, 0));
}
