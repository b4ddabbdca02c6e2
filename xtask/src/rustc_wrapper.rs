//! xtask as cargo's `RUSTC_WORKSPACE_WRAPPER`, for the dev loop: it compiles a plugin under
//! a version that is not in its `Cargo.toml` (`1.0.1-dev.7`), so every rebuild is a new
//! version to the host while the author's manifest stays untouched.
//!
//! The plugin SDK names a plugin's version from `env!("CARGO_PKG_VERSION")`, which cargo
//! sets for rustc. The dev build passes `--cfg frontdoor_dev_version="V"` to the plugin
//! crate only (`cargo rustc -- ...`, which also makes V part of cargo's fingerprint, so a
//! new V is always a rebuild); this wrapper sees that flag and runs rustc with
//! `CARGO_PKG_VERSION=V`. Every other invocation passes through unchanged.

use std::{
    env,
    ffi::OsString,
    os::unix::process::CommandExt as _,
    process::{Command, ExitCode},
};

use cargo_metadata::semver::Version;

/// Set by the dev build for cargo; its presence makes xtask act as the wrapper.
pub const ENV: &str = "FRONTDOOR_XTASK_RUSTC_WRAPPER";
/// The cfg carrying the version.
pub const CFG: &str = "frontdoor_dev_version";

/// The arguments after `cargo rustc ... --` that compile `version` in.
pub fn rustc_args(version: &Version) -> [String; 4] {
    [
        "--cfg".to_owned(),
        format!("{CFG}=\"{version}\""),
        "--check-cfg".to_owned(),
        format!("cfg({CFG}, values(any()))"),
    ]
}

/// When cargo started this process as its rustc wrapper, runs rustc in its place and
/// returns its failure to exec; otherwise `None`, and xtask runs as a command.
pub fn run_if_wrapper() -> Option<ExitCode> {
    env::var_os(ENV)?;
    let mut args = env::args_os().skip(1);
    // Cargo calls `wrapper RUSTC ARGS...`.
    let rustc = args.next()?;
    let args: Vec<OsString> = args.collect();
    let mut command = Command::new(&rustc);
    command.args(&args);
    if let Some(version) = version_in(&args) {
        command
            .env("CARGO_PKG_VERSION", version.to_string())
            .env("CARGO_PKG_VERSION_MAJOR", version.major.to_string())
            .env("CARGO_PKG_VERSION_MINOR", version.minor.to_string())
            .env("CARGO_PKG_VERSION_PATCH", version.patch.to_string())
            .env("CARGO_PKG_VERSION_PRE", version.pre.as_str());
    }
    let error = command.exec();
    eprintln!(
        "xtask (rustc wrapper): cannot run {}: {error}",
        rustc.to_string_lossy()
    );
    Some(ExitCode::FAILURE)
}

/// The version in a `--cfg frontdoor_dev_version="V"` pair of `args`.
pub fn version_in(args: &[OsString]) -> Option<Version> {
    let prefix = format!("{CFG}=\"");
    args.windows(2)
        .filter(|pair| pair[0] == "--cfg")
        .find_map(|pair| {
            let value = pair[1].to_str()?;
            let version = value.strip_prefix(&prefix)?.strip_suffix('"')?;
            Version::parse(version).ok()
        })
}
