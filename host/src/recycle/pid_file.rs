//! The PID file: names the process that serves, so supervisors and scripts find it across
//! recycles. Written whole (a temporary file renamed over it) by a host once it accepts; a
//! host that stops removes it only while it still names that host.

use std::{
    fs,
    io::{self, Write as _},
    path::{Path, PathBuf},
};

/// Why the PID file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the PID file {path}: {source}")]
pub struct PidFileError {
    pub path: PathBuf,
    pub source: io::Error,
}

/// Writes `pid` to `path` atomically: a reader sees the old content or the new, never a
/// partial one.
pub fn write(path: &Path, pid: u32) -> Result<(), PidFileError> {
    let error = |source| PidFileError {
        path: path.to_owned(),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| error(io::Error::other("the path names no file")))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".{pid}.tmp"));
    let temp = path.with_file_name(temp_name);
    let written = (|| {
        let mut file = fs::File::create(&temp)?;
        file.write_all(format!("{pid}\n").as_bytes())?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written.map_err(error)
}

/// The pid `path` names, if it names one.
pub fn read(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Removes `path` if it names `pid`: after a recycle it names the successor, which must
/// keep it.
pub fn remove_if_mine(path: &Path, pid: u32) {
    if read(path) == Some(pid)
        && let Err(error) = fs::remove_file(path)
    {
        tracing::warn!(path = %path.display(), %error, "cannot remove the PID file");
    }
}

#[cfg(test)]
mod tests;
