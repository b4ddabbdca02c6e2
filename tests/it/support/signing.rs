//! Signing fixtures as a team would for fleet mode: minisign signatures whose trusted
//! comment names the artifact (`frontdoor-artifact name=... sha256=...`).

use std::path::{Path, PathBuf};

use minisign::KeyPair;
use sha2::{Digest as _, Sha256};

use super::Fixture;

/// One team's signing key.
pub struct TeamKey {
    pub team: String,
    keys: KeyPair,
}

impl TeamKey {
    pub fn new(team: &str) -> Self {
        Self {
            team: team.to_owned(),
            keys: KeyPair::generate_unencrypted_keypair().expect("a key pair"),
        }
    }

    /// The public key line for `[fleet.keys]`.
    pub fn public(&self) -> String {
        self.keys.pk.to_base64()
    }

    /// Signs `bytes` claiming they are `name@version`, with `sha256` as their digest.
    pub fn sign_claiming(&self, bytes: &[u8], name: &str, version: &str, sha256: &str) -> String {
        let comment = format!(
            "frontdoor-artifact name={name} version={version} team={} kind=adapter sha256={sha256}",
            self.team
        );
        minisign::sign(
            Some(&self.keys.pk),
            &self.keys.sk,
            bytes,
            Some(&comment),
            None,
        )
        .expect("signed")
        .to_string()
    }

    /// Writes `fixture` into `dir` as `file_name`, signed (signature first) as
    /// `name@version`; returns the artifact's path.
    pub fn sign_into(
        &self,
        dir: &Path,
        fixture: Fixture,
        file_name: &str,
        name: &str,
        version: &str,
    ) -> PathBuf {
        let bytes = std::fs::read(fixture.artifact()).expect("fixture");
        let signature = self.sign_claiming(&bytes, name, version, &hex_digest(&bytes));
        let path = dir.join(file_name);
        std::fs::write(frontdoor::loader::signature_path(&path), signature).expect("signature");
        let temporary = dir.join(format!(".{file_name}.tmp"));
        std::fs::write(&temporary, &bytes).expect("artifact");
        std::fs::rename(&temporary, &path).expect("artifact in place");
        path
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
