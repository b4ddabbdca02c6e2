//! The external programs the benchmark runs, found on `PATH`; wrk is installed with apt-get
//! when it is missing.

use std::{
    env,
    os::unix::fs::PermissionsExt as _,
    path::PathBuf,
    process::{Command, Stdio},
};

use anyhow::{Context as _, bail};

/// The executable `name` on `PATH`, if any.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// wrk's path, after installing it from Debian's packages when it is missing.
pub fn ensure_wrk() -> anyhow::Result<PathBuf> {
    if let Some(wrk) = which("wrk") {
        return Ok(wrk);
    }
    eprintln!("wrk is not installed; installing it: apt-get update && apt-get install -y wrk");
    apt_get(&["update"])?;
    apt_get(&["install", "-y", "wrk"])?;
    which("wrk").context("apt-get installed wrk, but wrk is still not on PATH")
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

/// Runs `apt-get ARGS` quietly; on failure, the error carries the end of its output.
fn apt_get(args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .with_context(|| {
            format!(
                "cannot run apt-get {} to install wrk; install wrk yourself",
                args.join(" ")
            )
        })?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(5)..].join("\n");
        bail!(
            "apt-get {} failed ({}), so wrk could not be installed (it needs root and Debian's package lists); install wrk yourself. Last lines:\n{tail}",
            args.join(" "),
            output.status
        );
    }
    Ok(())
}
