//! Who may change what the host loads: an artifact, the directory it sits in, or the
//! directory the host copies it into must be writable only by the host's own user (or root).
//! Anyone else who can write one of them can make the host run their code.

use std::{fs::Metadata, os::unix::fs::MetadataExt as _};

/// Group and others' write bits.
const WRITABLE_BY_OTHERS: u32 = 0o022;
const STICKY: u32 = 0o1000;

/// How a directory shared with others may still be acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sharing {
    /// Writable by group or others is refused, sticky bit or not (anyone could add a file).
    Refused,
    /// Writable by others is fine with the sticky bit (like `/tmp`): others can add entries
    /// but not rename or remove ours.
    StickyAllowed,
}

/// The effective user id of this process.
pub(super) fn effective_uid() -> u32 {
    // SAFETY: geteuid(2) takes no arguments, touches no memory and cannot fail.
    unsafe { libc::geteuid() }
}

/// Checks that `metadata` (of `what`, e.g. "the artifact") is owned by this process's user
/// or root and not writable by group or others; the error is the one-line reason.
pub(super) fn check(metadata: &Metadata, what: &str, sharing: Sharing) -> Result<(), String> {
    let uid = metadata.uid();
    let me = effective_uid();
    if uid != me && uid != 0 {
        return Err(format!(
            "{what} is owned by uid {uid}, not by this host's user (uid {me}) or root"
        ));
    }
    let mode = metadata.mode();
    let shared = mode & WRITABLE_BY_OTHERS != 0;
    let sticky_ok = sharing == Sharing::StickyAllowed && mode & STICKY != 0;
    if shared && !sticky_ok {
        return Err(format!(
            "{what} is writable by group or others (mode {:04o})",
            mode & 0o7777
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
