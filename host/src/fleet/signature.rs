//! Who built an artifact: minisign signatures whose trusted comment names the artifact, and
//! the team keys that may sign for each plugin name.
//!
//! The signature of `X.so` is `X.so.minisig`, as `minisign -S` writes it. Its trusted
//! comment (covered by the signature) is
//! `frontdoor-artifact name=N version=V team=T kind=adapter|module sha256=HEX`: the
//! signature proves the bytes, the comment says what they claim to be, and the host checks
//! both the key (one of team T's) and the claim (T owns N; after loading, the plugin's own
//! manifest says N and V). Only prehashed signatures (minisign's default since 0.8) are
//! accepted; they can be checked while streaming the file.

use std::{collections::BTreeMap, fmt, io::Read};

use minisign_verify::{PublicKey, Signature};
use sha2::{Digest as _, Sha256};

/// The file name suffix of an artifact's signature.
pub const SIGNATURE_SUFFIX: &str = ".minisig";
/// The first word of every trusted comment this project writes.
const COMMENT_TAG: &str = "frontdoor-artifact";
/// A signature file is a few hundred bytes; anything much larger is not one.
pub const MAX_SIGNATURE_BYTES: u64 = 4096;

/// What a signed artifact claims to be, from its trusted comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub name: String,
    pub version: semver::Version,
    pub team: String,
    pub kind: ClaimedKind,
    /// SHA-256 of the artifact's bytes, lowercase hex.
    pub sha256: String,
}

/// The kind of plugin a signature claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimedKind {
    Adapter,
    Module,
}

impl ClaimedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Adapter => "adapter",
            Self::Module => "module",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "adapter" => Some(Self::Adapter),
            "module" => Some(Self::Module),
            _ => None,
        }
    }
}

impl fmt::Display for Claim {
    /// The trusted comment, exactly as it must be signed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{COMMENT_TAG} name={} version={} team={} kind={} sha256={}",
            self.name,
            self.version,
            self.team,
            self.kind.as_str(),
            self.sha256
        )
    }
}

impl Claim {
    /// Reads a trusted comment; every key is required, in order, once.
    pub fn parse(comment: &str) -> Result<Self, SignatureError> {
        let bad = |why: &str| SignatureError::Comment(format!("{why} in {comment:?}"));
        let mut words = comment.split(' ');
        if words.next() != Some(COMMENT_TAG) {
            return Err(bad(
                "the trusted comment does not start with frontdoor-artifact",
            ));
        }
        let mut field = |key: &str| -> Result<&str, SignatureError> {
            let word = words.next().ok_or_else(|| bad(&format!("no {key}=")))?;
            word.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix('='))
                .filter(|value| !value.is_empty())
                .ok_or_else(|| bad(&format!("expected {key}=... but found {word:?}")))
        };
        let name = field("name")?.to_owned();
        let version = field("version")?;
        let version = semver::Version::parse(version)
            .map_err(|error| bad(&format!("version {version:?} is not semver ({error})")))?;
        let team = field("team")?.to_owned();
        let kind = field("kind")?;
        let kind = ClaimedKind::parse(kind)
            .ok_or_else(|| bad(&format!("kind {kind:?} is neither adapter nor module")))?;
        let sha256 = field("sha256")?.to_owned();
        if sha256.len() != 64
            || !sha256
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
        {
            return Err(bad("sha256 is not 64 lowercase hex digits"));
        }
        if words.next().is_some() {
            return Err(bad("unexpected words after sha256="));
        }
        if !valid_name(&name) {
            return Err(bad("the name is not [a-z0-9_-]+"));
        }
        Ok(Self {
            name,
            version,
            team,
            kind,
            sha256,
        })
    }

    /// `name@version`.
    pub fn plugin(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

/// A plugin name as artifacts may carry it: what the file naming and etcd keys can hold.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"-_".contains(&byte))
}

/// Why a signature does not make an artifact trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no signature: {0}")]
    Missing(String),
    #[error("the signature file cannot be read as minisign: {0}")]
    Unreadable(String),
    #[error("the signature's trusted comment is not this project's: {0}")]
    Comment(String),
    #[error("no key is configured for team {0} under [fleet.keys]")]
    UnknownTeam(String),
    #[error("{name} is owned by {owner}, not by team {team} that signed it")]
    NotOwner {
        name: String,
        team: String,
        owner: String,
    },
    #[error("no team owns {0} ([admin_auth.owners]); only owned plugins can be trusted")]
    Unowned(String),
    #[error("the signature was not made by any key of team {team}")]
    WrongKey { team: String },
    #[error("the signature does not match the bytes (altered artifact or signature)")]
    Invalid,
    #[error("the artifact's SHA-256 is {actual}, the signature claims {claimed}")]
    Digest { claimed: String, actual: String },
    #[error("reading the artifact: {0}")]
    Io(String),
}

/// The keys each team signs with, and which team owns which plugin name.
#[derive(Clone, Default)]
pub struct Trust {
    keys: BTreeMap<String, Vec<PublicKey>>,
    owners: BTreeMap<String, String>,
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: BTreeMap<&str, usize> = self
            .keys
            .iter()
            .map(|(team, keys)| (team.as_str(), keys.len()))
            .collect();
        f.debug_struct("Trust")
            .field("keys", &keys)
            .field("owners", &self.owners)
            .finish()
    }
}

impl Trust {
    /// Parses `team → [base64 public key]`; an unreadable key is an error naming its team.
    pub fn new(
        keys: &BTreeMap<String, Vec<String>>,
        owners: BTreeMap<String, String>,
    ) -> Result<Self, String> {
        let mut parsed = BTreeMap::new();
        for (team, lines) in keys {
            let mut team_keys = Vec::new();
            for line in lines {
                let key = PublicKey::from_base64(line.trim()).map_err(|error| {
                    format!("fleet.keys.{team}: {line:?} is not a minisign public key ({error})")
                })?;
                team_keys.push(key);
            }
            if team_keys.is_empty() {
                return Err(format!("fleet.keys.{team}: no key"));
            }
            parsed.insert(team.clone(), team_keys);
        }
        Ok(Self {
            keys: parsed,
            owners,
        })
    }

    /// Checks `signature_text` against the bytes `artifact` yields (read once, in chunks) and
    /// answers what the artifact is: signed by a key of its claimed team, which owns its
    /// name, with the digest it claims.
    pub fn verify(
        &self,
        artifact: &mut dyn Read,
        signature_text: &str,
    ) -> Result<Claim, SignatureError> {
        let signature = Signature::decode(signature_text)
            .map_err(|error| SignatureError::Unreadable(error.to_string()))?;
        let claim = Claim::parse(signature.trusted_comment())?;
        let keys = self
            .keys
            .get(&claim.team)
            .ok_or_else(|| SignatureError::UnknownTeam(claim.team.clone()))?;
        match self.owners.get(&claim.name) {
            None => return Err(SignatureError::Unowned(claim.name.clone())),
            Some(owner) if *owner != claim.team => {
                return Err(SignatureError::NotOwner {
                    name: claim.name.clone(),
                    team: claim.team.clone(),
                    owner: owner.clone(),
                });
            }
            Some(_) => {}
        }
        // Which key signed is named by the signature's key id: only that one can verify.
        let mut verifiers: Vec<_> = keys
            .iter()
            .filter_map(|key| key.verify_stream(&signature).ok())
            .collect();
        let Some(verifier) = verifiers.first_mut() else {
            return Err(SignatureError::WrongKey {
                team: claim.team.clone(),
            });
        };
        let mut digest = Sha256::new();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = artifact
                .read(&mut buffer)
                .map_err(|error| SignatureError::Io(error.to_string()))?;
            if read == 0 {
                break;
            }
            digest.update(&buffer[..read]);
            verifier.update(&buffer[..read]);
        }
        verifier.finalize().map_err(|_| SignatureError::Invalid)?;
        let actual = hex(&digest.finalize());
        if actual != claim.sha256 {
            return Err(SignatureError::Digest {
                claimed: claim.sha256.clone(),
                actual,
            });
        }
        Ok(claim)
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

#[cfg(test)]
mod tests;
