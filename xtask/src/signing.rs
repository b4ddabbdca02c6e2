//! Artifact signatures for fleet mode, in minisign's format: a team's key signs an artifact
//! and the trusted comment binds its name, version, team, kind and SHA-256.
//!
//! The signature is prehashed (`ED`, minisign's default), so `minisign -Vm` and the host's
//! `minisign-verify` both accept it; teams may equally sign by hand with
//! `minisign -S -s TEAM.key -m ARTIFACT -t "<trusted comment>"`.

mod identity;
mod team_key;

use std::{
    ffi::OsString,
    fmt::Write as _,
    fs::{self, File},
    io::Write as _,
    path::{Path, PathBuf},
    process,
};

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

pub use identity::{ArtifactIdentity, ArtifactKind, check_team};
pub use team_key::{PASSWORD_ENV, TeamKey};

/// What a signature file's name adds to its artifact's: `tv-1.3.0.so.minisig`.
pub const SIGNATURE_SUFFIX: &str = ".minisig";

/// A signature written beside its artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedArtifact {
    pub signature_path: PathBuf,
    /// The artifact's SHA-256, lowercase hex, as the trusted comment carries it.
    pub sha256: String,
    /// The whole signature file.
    pub signature: String,
}

/// Signs `artifact` (the file's bytes) with `key` and returns the text of its `.minisig`
/// file, whose trusted comment is `identity`'s with the artifact's SHA-256.
pub fn sign_artifact(
    artifact: &[u8],
    key: &TeamKey,
    identity: &ArtifactIdentity,
) -> anyhow::Result<String> {
    sign_with_digest(artifact, &sha256_hex(artifact), key, identity)
}

/// Signs the artifact at `path` with `key` and writes its signature to `path` + `.minisig`
/// atomically (a temporary file in the same directory, then a rename), replacing any
/// older signature.
pub fn sign_file(
    path: &Path,
    key: &TeamKey,
    identity: &ArtifactIdentity,
) -> anyhow::Result<SignedArtifact> {
    let artifact =
        fs::read(path).with_context(|| format!("cannot read the artifact {}", path.display()))?;
    let sha256 = sha256_hex(&artifact);
    let signature = sign_with_digest(&artifact, &sha256, key, identity)
        .with_context(|| format!("cannot sign {}", path.display()))?;
    let signature_path = signature_path(path);
    write_atomically(&signature_path, signature.as_bytes())?;
    Ok(SignedArtifact {
        signature_path,
        sha256,
        signature,
    })
}

/// Where the signature of the artifact at `artifact` lives: the same name + `.minisig`.
pub fn signature_path(artifact: &Path) -> PathBuf {
    let mut name = OsString::from(artifact.as_os_str());
    name.push(SIGNATURE_SUFFIX);
    PathBuf::from(name)
}

/// The SHA-256 of `bytes` in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            // Writing into a String cannot fail.
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// [`sign_artifact`] given the artifact's SHA-256 (hex), already computed.
fn sign_with_digest(
    artifact: &[u8],
    sha256_hex: &str,
    key: &TeamKey,
    identity: &ArtifactIdentity,
) -> anyhow::Result<String> {
    let trusted_comment = identity.trusted_comment(sha256_hex);
    let untrusted_comment = format!("signature from the signing key of team {}", identity.team());
    // With the public key given, minisign checks the fresh signature against it: a key file
    // whose halves do not belong together fails here, not on every host.
    let signature = minisign::sign(
        Some(key.public_key()),
        key.secret_key(),
        artifact,
        Some(&trusted_comment),
        Some(&untrusted_comment),
    )
    .context("cannot sign the artifact")?;
    Ok(signature.into_string())
}

/// Writes `contents` to `path` through a dot-named temporary file in the same directory,
/// flushed before the rename, so a reader sees the old file or the whole new one.
fn write_atomically(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .with_context(|| format!("{} names no file", path.display()))?;
    let mut temp_name = OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".tmp-{}", process::id()));
    let temp = dir.join(temp_name);
    let written = File::create(&temp)
        .and_then(|mut file| {
            file.write_all(contents)?;
            file.sync_all()
        })
        .with_context(|| format!("cannot write {}", temp.display()))
        .and_then(|()| {
            fs::rename(&temp, path)
                .with_context(|| format!("cannot rename {} to {}", temp.display(), path.display()))
        });
    if written.is_err() {
        // Best effort: the error that matters is the one returned.
        let _ = fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests;
