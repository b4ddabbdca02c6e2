//! Running `cargo build` and collecting what it built from its JSON messages.

use std::{
    env,
    ffi::OsString,
    io::BufReader,
    path::Path,
    process::{Command, Stdio},
};

use anyhow::{Context as _, bail};
use cargo_metadata::{Artifact, Message};

/// Which cargo profile to build with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Release,
    Dev,
}

/// An environment variable for a build: set to a value, or removed.
pub type EnvVar<'a> = (&'a str, Option<&'a str>);

/// Builds `packages` with one `cargo build` run in `root` and returns every artifact cargo
/// reports. Cargo's diagnostics and progress go straight to our stderr.
pub fn build(root: &Path, packages: &[&str], profile: Profile) -> anyhow::Result<Vec<Artifact>> {
    build_with_env(root, packages, profile, &[])
}

/// [`build`] with environment variables set or removed for cargo and the compilers, e.g.
/// one that a crate reads with `option_env!` (cargo rebuilds it when the value changes).
pub fn build_with_env(
    root: &Path,
    packages: &[&str],
    profile: Profile,
    env: &[EnvVar<'_>],
) -> anyhow::Result<Vec<Artifact>> {
    // `CARGO` is the cargo that runs us: the same toolchain the user chose.
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(cargo);
    command.current_dir(root).arg("build");
    for &(name, value) in env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    if profile == Profile::Release {
        command.arg("--release");
    }
    for package in packages {
        command.args(["--package", package]);
    }
    command
        .arg("--message-format=json-render-diagnostics")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command.spawn().context("cannot run cargo build")?;
    let stdout = child.stdout.take().context("cargo build has no stdout")?;

    let mut artifacts = Vec::new();
    let mut read_error = None;
    for message in Message::parse_stream(BufReader::new(stdout)) {
        match message {
            Ok(Message::CompilerArtifact(artifact)) => artifacts.push(artifact),
            // Lines that are not JSON, e.g. what a build script prints to stdout.
            Ok(Message::TextLine(line)) => eprintln!("{line}"),
            Ok(_) => {}
            Err(error) => {
                read_error = Some(error);
                break;
            }
        }
    }
    let status = child.wait().context("cannot wait for cargo build")?;
    // A read error comes first: cargo may have failed only because we stopped reading.
    if let Some(error) = read_error {
        return Err(error).context("cannot read the json messages of cargo build");
    }
    if !status.success() {
        bail!("cargo build of {} failed ({status})", packages.join(", "));
    }
    Ok(artifacts)
}
