//! Where probes run in the scheduler: idle first, and again at the caller's priority once
//! an idle probe has been held back from a CPU for its bound. Real child processes on a core
//! kept busy by a spinning thread; no timing is asserted, only which run answered.

use std::{
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use super::{
    Probe, ProbeRuns, background, calling_thread_is_idle,
    process::{self, Run},
    report::ProbeEvent,
};
use crate::loader::busy_core::{BusyCore, pin_to};

/// Generous: a deadline never decides these tests.
const TIMEOUT: Duration = Duration::from_secs(120);

/// A stand-in for `frontdoor probe-artifact`: a shell script that reports its scheduling
/// policy as the plugin's name (`policy-5` is SCHED_IDLE), or spins while idle when
/// `spin_while_idle`: until killed, or until the test process is gone ([`SPIN`]).
/// A shell loop that spins while its parent lives. The real probe dies with the host
/// (`PR_SET_PDEATHSIG`); a child the idle spawner starts just as the test process exits
/// would otherwise spin on, orphaned, for ever (one did, on a core benchmarks measure).
const SPIN: &str = "while kill -0 $PPID 2>/dev/null; do :; done";

fn fake_probe(dir: &Path, spin_while_idle: bool) -> PathBuf {
    let loaded = |plugin: &str| {
        ProbeEvent::Loaded {
            plugin: plugin.into(),
        }
        .to_line()
    };
    // /proc/PID/stat's 41st field is the policy; the command name ("probe") has no spaces.
    let spin = if spin_while_idle {
        format!("if [ \"$policy\" = 5 ]; then {SPIN}; fi\n")
    } else {
        String::new()
    };
    let script = format!(
        "#!/bin/sh\npolicy=$(cut -d' ' -f41 /proc/$$/stat)\n{spin}printf '%s\\n' '{}'\n",
        loaded("policy-$policy").replace("policy-$policy", "'\"policy-$policy\"'")
    );
    let path = dir.join("probe");
    std::fs::write(&path, script).expect("write the fake probe");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

#[test]
fn an_idle_child_held_back_from_its_core_is_killed_as_starved() {
    let busy = BusyCore::here();
    // The child inherits this thread's core, where the spinner leaves an idle task almost
    // nothing: a child that spins would otherwise never end before the deadline.
    pin_to(busy.core);
    let mut command = Command::new("sh");
    command.args(["-c", SPIN]);
    // Killed once held back, or (the idle spawner being held back on that core too) never
    // started: either way held back, never run to the deadline.
    let run = process::run_idle(command, TIMEOUT, Duration::from_millis(50)).expect("runs");
    assert!(matches!(run, Run::HeldBack(_)));
}

/// The plugin name a probe through [`fake_probe`] answers with, run from the calling thread
/// with `idle_wait`: `policy-N`, the policy of the run that answered; and the probe's run
/// counts after.
fn answering_policy(spin_while_idle: bool, idle_wait: Option<Duration>) -> (String, ProbeRuns) {
    let dir = tempfile::tempdir().expect("tempdir");
    let probe = Probe::new(fake_probe(dir.path(), spin_while_idle), TIMEOUT, idle_wait);
    let answer = probe.run(&dir.path().join("x.so")).expect("loads");
    (answer, probe.runs())
}

fn runs(idle: u64, held_back: u64, normal: u64) -> ProbeRuns {
    ProbeRuns {
        idle,
        held_back,
        normal,
    }
}

#[test]
fn a_deployers_probe_runs_idle_first() {
    background::mark_current_thread();
    // A bound no busy test machine reaches for a few milliseconds of work.
    assert_eq!(
        answering_policy(false, Some(Duration::from_secs(100))),
        ("policy-5".to_owned(), runs(1, 0, 0))
    );
}

#[test]
fn an_idle_probe_held_back_from_its_core_runs_again_at_the_callers_priority() {
    background::mark_current_thread();
    let busy = BusyCore::here();
    pin_to(busy.core);
    // The idle run spins and can only end by being killed as held back; the second run,
    // at this thread's policy (SCHED_OTHER), answers.
    assert_eq!(
        answering_policy(true, Some(Duration::from_millis(50))),
        ("policy-0".to_owned(), runs(0, 1, 1))
    );
}

#[test]
fn a_probe_off_the_deployers_thread_runs_at_the_callers_priority() {
    // A host starting up (or a recycle's successor) loads to be ready soon.
    assert_eq!(
        answering_policy(false, Some(Duration::from_secs(100))),
        ("policy-0".to_owned(), runs(0, 0, 1))
    );
}

#[test]
fn without_an_idle_wait_a_probe_runs_at_the_callers_priority() {
    background::mark_current_thread();
    assert_eq!(
        answering_policy(true, None),
        ("policy-0".to_owned(), runs(0, 0, 1))
    );
}

#[test]
fn a_caller_that_is_idle_itself_is_told_apart() {
    // The deployer under `deployer_idle`: its probe inherits SCHED_IDLE and could not be
    // raised after an idle run, so `Probe::run` runs it once, as the caller runs.
    assert!(!calling_thread_is_idle());
    let idle = std::thread::spawn(|| {
        crate::deploy::priority::lower(0, true);
        calling_thread_is_idle()
    })
    .join()
    .expect("the idle thread");
    assert!(idle);
}
