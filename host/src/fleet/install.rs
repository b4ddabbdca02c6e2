//! Puts one desired artifact into the local plugins directory: downloaded, checked
//! against its record and signature, then written beside its signature and renamed into
//! place, so the deployer sees a complete file (the same path as a dropped one), and the
//! loader verifies the signature again on its own private copy.

use std::{
    fs::{File, OpenOptions},
    io::Write as _,
    os::unix::fs::OpenOptionsExt as _,
    path::{Path, PathBuf},
};

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use super::{
    record::ArtifactRecord,
    signature::{Trust, hex},
};
use crate::loader::signature_path;

/// Checks `bytes` against `record`: the digest the record and the signature name, and a
/// signature by the owning team. The reason is what every host reports.
pub fn check(trust: &Trust, record: &ArtifactRecord, bytes: &[u8]) -> Result<(), String> {
    let actual = hex(&Sha256::digest(bytes));
    if actual != record.sha256 {
        return Err(format!(
            "the stored artifact's SHA-256 is {actual}, but {} was published with {}: altered or corrupt, refused",
            record.plugin(),
            record.sha256
        ));
    }
    let claim = trust
        .verify(&mut &bytes[..], &record.signature)
        .map_err(|error| format!("refused: {error}"))?;
    if claim.name != record.name || claim.version != record.version || claim.sha256 != record.sha256
    {
        return Err(format!(
            "refused: the signature vouches for {} ({}), the record is {}",
            claim.plugin(),
            claim.sha256,
            record.plugin()
        ));
    }
    Ok(())
}

/// Writes the checked `bytes` as `dir/record.file_name` with its signature beside it; the
/// signature first, so the artifact never appears without one.
pub fn write(dir: &Path, record: &ArtifactRecord, bytes: &Bytes) -> Result<PathBuf, String> {
    let path = dir.join(&record.file_name);
    write_atomically(
        dir,
        &signature_path(&path),
        record.signature.as_bytes(),
        0o644,
    )?;
    write_atomically(dir, &path, bytes, 0o644)?;
    Ok(path)
}

/// Removes an artifact the fleet no longer wants, and its signature.
pub fn remove(path: &Path) {
    for file in [path.to_owned(), signature_path(path)] {
        if let Err(error) = std::fs::remove_file(&file)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(file = %file.display(), %error, "cannot remove an artifact the fleet no longer wants");
        }
    }
}

/// Temp file in `dir` (a dot name the deployer ignores), fsync, rename over `path`.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".fleet-{}-{name}.tmp", std::process::id()));
    let fail = |error: std::io::Error| format!("cannot write {}: {error}", path.display());
    let _ = std::fs::remove_file(&temporary);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&temporary)
        .map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(fail)?;
    File::open(dir).and_then(|dir| dir.sync_all()).map_err(fail)
}
