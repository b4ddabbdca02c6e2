//! Programs xtask needs from the system, found on `PATH` and installed from Debian's
//! packages when missing, so `cargo xtask demo` works on a fresh machine with only the Rust
//! toolchain.

use std::{
    env,
    ffi::OsString,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context as _, bail};

#[cfg(test)]
mod tests;

/// The executable `name` on `PATH`, if any.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable_file(candidate))
}

fn is_executable_file(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// `protoc`, which the host's build needs (the etcd client's build script compiles etcd's
/// protocol files with it): the one `PROTOC` names, as that build script honours it, or the
/// one on `PATH`, installed from Debian's `protobuf-compiler` when there is neither.
pub fn ensure_protoc() -> anyhow::Result<PathBuf> {
    if let Some(named) = protoc_named_by(env::var_os("PROTOC"))? {
        return Ok(named);
    }
    ensure(
        "protoc",
        "protobuf-compiler",
        "the host's etcd client is generated from protocol files at build time",
    )
}

/// The protoc that the value of `PROTOC` names, if it is set; an error if it names no
/// executable file, since the build would fail on it later with less to go on.
fn protoc_named_by(value: Option<OsString>) -> anyhow::Result<Option<PathBuf>> {
    let Some(named) = value.map(PathBuf::from) else {
        return Ok(None);
    };
    if !is_executable_file(&named) {
        bail!(
            "PROTOC names {}, which is not an executable file; unset it to use (or install) protoc from PATH",
            named.display()
        );
    }
    Ok(Some(named))
}

/// The path of `program`, after installing Debian's `package` when it is not on `PATH`.
/// `why` says what it is needed for, in the messages.
pub fn ensure(program: &str, package: &str, why: &str) -> anyhow::Result<PathBuf> {
    if let Some(found) = which(program) {
        return Ok(found);
    }
    eprintln!(
        "{program} is not installed ({why}); installing it: apt-get update && apt-get install -y {package}"
    );
    let install = |args: &[&str]| {
        apt_get(args).with_context(|| {
            format!("{program} could not be installed; install Debian's {package} yourself ({why})")
        })
    };
    install(&["update"])?;
    install(&["install", "-y", package])?;
    which(program)
        .with_context(|| format!("apt-get installed {package}, but {program} is still not on PATH"))
}

/// Runs `apt-get ARGS` quietly, through `sudo -n` when we are not root; on failure, the
/// error carries the end of its output.
fn apt_get(args: &[&str]) -> anyhow::Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let mut command = if root {
        Command::new("apt-get")
    } else {
        // Never prompt for a password from inside a build: without one cached, fail and say so.
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", "apt-get"]);
        sudo
    };
    let shown = format!(
        "{}apt-get {}",
        if root { "" } else { "sudo -n " },
        args.join(" ")
    );
    let output = command
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {shown}"))?;
    if !output.status.success() {
        bail!(
            "{shown} failed ({}; it needs root and Debian's package lists). Last lines:\n{}",
            output.status,
            last_lines(&output.stdout, &output.stderr, 5)
        );
    }
    Ok(())
}

/// The last `count` lines of a command's stdout followed by its stderr.
fn last_lines(stdout: &[u8], stderr: &[u8], count: usize) -> String {
    let mut text = String::from_utf8_lossy(stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(stderr));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}
