//! Fleet mode's check that what the host is about to probe and open is a signed artifact:
//! the signature beside the file in the plugins directory, verified against the bytes of
//! the host's private copy (which nobody else writes), so the verified bytes are exactly
//! the bytes that get mapped.

use std::{
    fs::{File, OpenOptions},
    io::{self, Read},
    os::unix::fs::{FileExt as _, OpenOptionsExt as _},
    path::{Path, PathBuf},
};

use frontdoor_plugin_api::PluginKind;

use super::LoadError;
use crate::fleet::{Claim, ClaimedKind, SignatureError, Trust, signature};

/// Verifies the private `copy` (`len` bytes) of the artifact at `source_path` against the
/// signature file beside that artifact; answers what it was signed as.
pub(super) fn verify_copy(
    trust: &Trust,
    source_path: &Path,
    copy: &File,
    len: u64,
) -> Result<Claim, LoadError> {
    let text = read_signature(&signature_path(source_path))?;
    let mut bytes = FromStart {
        file: copy,
        offset: 0,
        len,
    };
    Ok(trust.verify(&mut bytes, &text)?)
}

/// The signature file of the artifact at `path`: `X.so.minisig`.
pub fn signature_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(signature::SIGNATURE_SUFFIX);
    PathBuf::from(name)
}

/// Refuses a plugin whose manifest is not what its signature claims (a team may sign only
/// names it owns: the name checked against the owners was the claimed one).
pub(super) fn check_claim(
    claim: &Claim,
    name: &str,
    version: &semver::Version,
    kind: PluginKind,
) -> Result<(), LoadError> {
    let kind = match kind {
        PluginKind::Adapter => ClaimedKind::Adapter,
        PluginKind::SharedModule => ClaimedKind::Module,
    };
    if claim.name != name || claim.version != *version || claim.kind != kind {
        return Err(LoadError::NotAsSigned {
            signed: format!("{} {}", claim.kind.as_str(), claim.plugin()),
            actual: format!("{} {name}@{version}", kind.as_str()),
        });
    }
    Ok(())
}

/// Refuses a probe's `name@version` that differs from the claim, before the host opens it.
pub(super) fn check_probed(claim: &Claim, probed: &str) -> Result<(), LoadError> {
    if probed != claim.plugin() {
        return Err(LoadError::NotAsSigned {
            signed: claim.plugin(),
            actual: probed.to_owned(),
        });
    }
    Ok(())
}

/// Reads a signature file: a regular file (not followed through a symlink, never a FIFO)
/// of at most [`signature::MAX_SIGNATURE_BYTES`].
fn read_signature(path: &Path) -> Result<String, LoadError> {
    let missing =
        |error: io::Error| SignatureError::Missing(format!("{}: {error}", path.display()));
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(missing)?;
    let metadata = file.metadata().map_err(missing)?;
    if !metadata.is_file() || metadata.len() > signature::MAX_SIGNATURE_BYTES {
        return Err(SignatureError::Unreadable(format!(
            "{} is not a signature file (not a regular file of at most {} bytes)",
            path.display(),
            signature::MAX_SIGNATURE_BYTES
        ))
        .into());
    }
    let mut text = String::new();
    file.take(signature::MAX_SIGNATURE_BYTES)
        .read_to_string(&mut text)
        .map_err(|error| SignatureError::Unreadable(format!("{}: {error}", path.display())))?;
    Ok(text)
}

/// Reads `len` bytes of `file` from its start without moving its cursor.
struct FromStart<'a> {
    file: &'a File,
    offset: u64,
    len: u64,
}

impl Read for FromStart<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len - self.offset;
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let read = self.file.read_at(&mut buf[..want], self.offset)?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the copy is shorter than it was",
            ));
        }
        self.offset += read as u64;
        Ok(read)
    }
}
