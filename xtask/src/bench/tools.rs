//! wrk, the benchmark's load generator: installed with apt-get when it is missing, and its
//! version for the report.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
};

use anyhow::Context as _;

/// wrk's path, after installing it from Debian's packages when it is missing.
pub fn ensure_wrk() -> anyhow::Result<PathBuf> {
    crate::system_tools::ensure("wrk", "wrk", "the benchmark's load generator")
}

/// What wrk says its version is, e.g. `wrk debian/4.1.0-3+b2 [epoll]`.
pub fn wrk_version() -> anyhow::Result<String> {
    // `wrk -v` prints its version and usage, and exits with status 1.
    let output = Command::new("wrk")
        .arg("-v")
        .stdin(Stdio::null())
        .output()
        .context("cannot run wrk -v")?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .next()
        .filter(|line| line.starts_with("wrk "))
        .map(|line| {
            line.split(" Copyright")
                .next()
                .unwrap_or(line)
                .trim()
                .to_owned()
        })
        .with_context(|| format!("wrk -v printed no version: `{}`", text.trim()))
}
