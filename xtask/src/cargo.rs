//! Running `cargo build` (and `cargo bench --no-run`) and collecting what it built from its
//! JSON messages.

use std::{
    env,
    ffi::OsString,
    io::BufReader,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context as _, bail};
use cargo_metadata::{Artifact, Message};

/// Which cargo profile to build with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Release,
    Dev,
    /// The workspace's `production` profile: release with fat LTO and one codegen unit,
    /// the host binary as it ships (see the workspace `Cargo.toml`).
    Production,
    /// A plugin as it ships (`build-plugin`, `publish`, the demo, the bench): release with
    /// fat LTO and one codegen unit, defined on the command line ([`PLUGIN_PROFILE`]) so it
    /// applies to a team's crate outside this workspace as well.
    Plugin,
}

/// The `plugin` profile's settings, as `--config` values. Whole-program optimisation of a
/// plugin with its dependencies: under callgrind, W2 through the adapter took 72,200
/// instructions per request built so, 83,200 built `release` (16 codegen units, no
/// cross-crate LTO), against 70,600 for the same work compiled into the host; the price
/// is a slower link (an incremental build of the `tv` adapter 6.6 s instead of 2.2 s).
pub const PLUGIN_PROFILE: [&str; 3] = [
    "profile.plugin.inherits=\"release\"",
    "profile.plugin.lto=\"fat\"",
    "profile.plugin.codegen-units=1",
];

impl Profile {
    /// The profile's name in `Cargo.toml` and `--config profile.NAME.*`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Dev => "dev",
            Self::Production => "production",
            Self::Plugin => "plugin",
        }
    }

    /// The directory under the target directory where cargo puts what it built.
    pub fn target_subdir(self) -> &'static str {
        match self {
            Self::Dev => "debug",
            other => other.name(),
        }
    }

    /// Adds the flag that selects this profile to a cargo command.
    pub fn select(self, command: &mut Command) {
        match self {
            Self::Release => {
                command.arg("--release");
            }
            Self::Dev => {}
            Self::Production => {
                command.args(["--profile", "production"]);
            }
            Self::Plugin => {
                command.args(["--profile", "plugin"]);
                for setting in PLUGIN_PROFILE {
                    command.args(["--config", setting]);
                }
            }
        }
    }
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
    let mut command = cargo_command(root, "build");
    for &(name, value) in env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    profile.select(&mut command);
    for package in packages {
        command.args(["--package", package]);
    }
    artifacts(command, &format!("cargo build of {}", packages.join(", ")))
}

/// Builds the benchmark target `bench` of `package` without running it (`cargo bench
/// --no-run`, cargo's `bench` profile) and returns its executable, to be run by hand: under
/// taskset, with arguments of our choosing.
pub fn build_bench(root: &Path, package: &str, bench: &str) -> anyhow::Result<PathBuf> {
    let mut command = cargo_command(root, "bench");
    command.args(["--no-run", "--package", package, "--bench", bench]);
    artifacts(command, &format!("cargo bench --no-run of {package}"))?
        .into_iter()
        .filter(|artifact| artifact.target.is_bench() && artifact.target.name == bench)
        .find_map(|artifact| artifact.executable)
        .map(|path| path.into_std_path_buf())
        .with_context(|| format!("cargo bench --no-run reported no executable for {bench}"))
}

/// The cargo that runs us: the toolchain the user chose.
pub fn program() -> OsString {
    env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// `cargo SUBCOMMAND` in `root`, with [`program`].
pub fn cargo_command(root: &Path, subcommand: &str) -> Command {
    let mut command = Command::new(program());
    command.current_dir(root).arg(subcommand);
    command
}

/// Runs `command` (a cargo build of some kind) and collects the artifacts it reports.
/// Cargo's diagnostics and progress go straight to our stderr; `what` names it in errors.
pub fn artifacts(mut command: Command, what: &str) -> anyhow::Result<Vec<Artifact>> {
    command.arg("--message-format=json-render-diagnostics");
    artifacts_with_format_given(command, what)
}

/// [`artifacts`] for a command that already asks for `--message-format=json-render-diagnostics`
/// (`cargo rustc`, whose arguments after `--` must come last).
pub fn artifacts_with_format_given(
    mut command: Command,
    what: &str,
) -> anyhow::Result<Vec<Artifact>> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot run {what}"))?;
    let stdout = child
        .stdout
        .take()
        .with_context(|| format!("{what} has no stdout"))?;

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
    let status = child
        .wait()
        .with_context(|| format!("cannot wait for {what}"))?;
    // A read error comes first: cargo may have failed only because we stopped reading.
    if let Some(error) = read_error {
        return Err(error).with_context(|| format!("cannot read the json messages of {what}"));
    }
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(artifacts)
}

#[cfg(test)]
mod tests;
