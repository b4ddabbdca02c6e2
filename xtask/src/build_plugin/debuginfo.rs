//! Lean artifacts: the debug info of a built library split into a file of its own, kept
//! for profiling and debugging, and the artifact shipped without it.
//!
//! `objcopy --only-keep-debug` writes the debug sections to `NAME-VERSION.so.debug`;
//! `objcopy --strip-debug --add-gnu-debuglink` writes the artifact without them, pointing at
//! that file by name and CRC (gdb and perf look for it in `.debug/` beside the binary).
//! Only `.debug_*` sections go: the symbol table, the dynamic symbols the loader reads and
//! every program header stay, so the host's ELF checks and loading are unchanged.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context as _, bail};

/// The two files made from one library.
#[derive(Debug)]
pub struct Split {
    /// The library without debug sections.
    pub stripped: PathBuf,
    /// The debug sections alone.
    pub debug: PathBuf,
}

/// Splits `library` into `work_dir/{file_name}` (stripped) and `work_dir/{file_name}.debug`.
/// `Ok(None)` when there is no `objcopy` on this machine: the caller ships the library whole.
pub fn split(library: &Path, work_dir: &Path, file_name: &str) -> anyhow::Result<Option<Split>> {
    if !objcopy_available() {
        return Ok(None);
    }
    std::fs::create_dir_all(work_dir)
        .with_context(|| format!("cannot create {}", work_dir.display()))?;
    let debug = work_dir.join(format!("{file_name}.debug"));
    let stripped = work_dir.join(file_name);
    objcopy(&[
        "--only-keep-debug".as_ref(),
        library.as_os_str(),
        debug.as_os_str(),
    ])?;
    let debuglink = format!("--add-gnu-debuglink={}", debug.display());
    objcopy(&[
        "--strip-debug".as_ref(),
        debuglink.as_ref(),
        library.as_os_str(),
        stripped.as_os_str(),
    ])?;
    Ok(Some(Split { stripped, debug }))
}

fn objcopy_available() -> bool {
    Command::new("objcopy")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn objcopy(args: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
    let output = Command::new("objcopy")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("cannot run objcopy")?;
    if !output.status.success() {
        bail!(
            "objcopy {:?} failed ({}): {}",
            args,
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
