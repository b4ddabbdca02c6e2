//! The verdict on a probe from what it printed and how it ended.

use std::{os::unix::process::ExitStatusExt as _, process::ExitStatus, time::Duration};

use super::{
    LoadStage, ProbeFailure, judge,
    report::{ProbeEvent, Transcript},
};

fn transcript(events: &[ProbeEvent], noise: &str) -> Transcript {
    let mut stdout = String::from(noise);
    for event in events {
        stdout.push_str(&format!("\n{}\n", event.to_line()));
    }
    Transcript::read(stdout.as_bytes())
}

fn stage(stage: LoadStage) -> ProbeEvent {
    ProbeEvent::Stage { stage }
}

const NO_TIME: Duration = Duration::from_millis(1500);

#[test]
fn a_clean_report_and_exit_is_a_pass() {
    let seen = transcript(
        &[
            stage(LoadStage::ElfCheck),
            stage(LoadStage::Open),
            ProbeEvent::Loaded {
                plugin: "echo@1.0.0".into(),
            },
        ],
        "",
    );
    assert_eq!(
        judge(seen, ExitStatus::from_raw(0), None, NO_TIME, "").expect("pass"),
        "echo@1.0.0"
    );
}

#[test]
fn a_child_killed_by_a_signal_while_opening_names_the_signal_and_the_initializers() {
    let seen = transcript(&[stage(LoadStage::ElfCheck), stage(LoadStage::Open)], "");
    let stderr = "thread '<unnamed>' panicked at tests/fixtures/static-init/src/lib.rs:20:9:\nstatic-init fixture: deliberate panic\nthread '<unnamed>' panicked at library/core/src/panicking.rs:225:5:\npanic in a function that cannot unwind\nthread caused non-unwinding panic. aborting.\n";
    let failure = judge(
        seen,
        ExitStatus::from_raw(libc::SIGABRT),
        None,
        NO_TIME,
        stderr,
    )
    .expect_err("refused");
    assert_eq!(
        failure.to_string(),
        "the load probe died of SIGABRT while opening the library: its static initializers crash (panicked: static-init fixture: deliberate panic)"
    );
}

#[test]
fn a_child_that_exits_during_init_names_the_status_and_the_plugin() {
    let seen = transcript(
        &[
            stage(LoadStage::Manifest),
            ProbeEvent::Identified {
                plugin: "x@1.0.0".into(),
            },
            stage(LoadStage::Init),
        ],
        "",
    );
    let failure =
        judge(seen, ExitStatus::from_raw(3 << 8), None, NO_TIME, "").expect_err("refused");
    assert_eq!(
        failure.to_string(),
        "the load probe exited with status 3 while running its init: its init ends the process"
    );
    assert_eq!(failure.plugin(), Some("x@1.0.0"));
}

#[test]
fn a_timeout_wins_over_whatever_was_printed() {
    let seen = transcript(&[stage(LoadStage::Open)], "");
    let failure = judge(
        seen,
        ExitStatus::from_raw(libc::SIGKILL),
        Some(Duration::ZERO),
        NO_TIME,
        "",
    )
    .expect_err("refused");
    assert!(matches!(failure, ProbeFailure::TimedOut { .. }));
    assert_eq!(
        failure.to_string(),
        "the load probe did not finish within 1500 ms while opening the library and was killed: its static initializers hang (artifacts.probe_timeout_ms)"
    );
    // On a busy core the deadline left out the time the probe waited for a CPU; the
    // message says so, so the operator does not read 1500 ms as the wall time.
    let waited = Duration::from_millis(2_345);
    let seen = transcript(&[stage(LoadStage::Open)], "");
    let failure = judge(
        seen,
        ExitStatus::from_raw(libc::SIGKILL),
        Some(waited),
        NO_TIME,
        "",
    )
    .expect_err("refused");
    assert_eq!(
        failure.to_string(),
        "the load probe did not finish within 1500 ms of its own time (and 2345 ms waiting for a CPU) while opening the library and was killed: its static initializers hang (artifacts.probe_timeout_ms)"
    );
}

#[test]
fn a_refusal_is_passed_on_verbatim() {
    let seen = transcript(
        &[
            stage(LoadStage::RootModule),
            ProbeEvent::Refused {
                plugin: None,
                reason: "not a Frontdoor plugin: it exports no abi_stable root module (x)".into(),
            },
        ],
        "",
    );
    let failure = judge(seen, ExitStatus::from_raw(0), None, NO_TIME, "").expect_err("refused");
    assert_eq!(
        failure.to_string(),
        "not a Frontdoor plugin: it exports no abi_stable root module (x)"
    );
}

#[test]
fn success_followed_by_a_crash_is_not_a_pass() {
    let seen = transcript(
        &[ProbeEvent::Loaded {
            plugin: "x@1.0.0".into(),
        }],
        "",
    );
    let failure =
        judge(seen, ExitStatus::from_raw(libc::SIGSEGV), None, NO_TIME, "").expect_err("refused");
    assert!(failure.to_string().contains("died of SIGSEGV"), "{failure}");
}

#[test]
fn plugin_output_around_the_protocol_is_ignored() {
    // A plugin printing without a newline, and a forged-looking line that is not JSON.
    let seen = transcript(
        &[stage(LoadStage::Open)],
        "hello from a plugin without newline frontdoor-probe {garbage\n",
    );
    assert_eq!(seen.stage, Some(LoadStage::Open));
    assert_eq!(seen.verdict, None);
    let failure =
        judge(seen, ExitStatus::from_raw(9 << 8), None, NO_TIME, "").expect_err("no verdict");
    assert!(
        failure.to_string().contains("exited with status 9"),
        "{failure}"
    );
}
