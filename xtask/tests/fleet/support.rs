//! Running the xtask binary and the `minisign` tool as child processes.

use std::{
    path::Path,
    process::{Command, Output, Stdio},
};

/// The minisign command-line tool (installed in CI's image).
pub const MINISIGN: &str = "minisign";

pub fn run(command: &mut Command) -> Output {
    command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"))
}

/// Runs `command`, fails the test with its output unless it succeeds, returns its stdout.
pub fn succeeds(command: &mut Command) -> String {
    let output = run(command);
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// This build's xtask binary, as `cargo xtask` runs it.
pub fn xtask() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
}

/// `minisign -Vm artifact -p public`: whether the tool accepts the signature beside it.
pub fn tool_verifies(artifact: &Path, public: &Path) -> Output {
    run(Command::new(MINISIGN)
        .arg("-Vm")
        .arg(artifact)
        .arg("-p")
        .arg(public))
}
