//! What a signature vouches for: an artifact's name, version, team and kind, written into
//! the trusted comment in the one format hosts read.

use std::fmt;

use anyhow::{Context as _, bail};
use cargo_metadata::semver::Version;

/// The word the trusted comment of every artifact signature starts with.
pub const COMMENT_TAG: &str = "frontdoor-artifact";

/// What kind of plugin an artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ArtifactKind {
    /// Serves requests under `/{name}/`.
    Adapter,
    /// A shared module: serves adapters.
    Module,
}

/// An artifact's name, version, team and kind, each checked to fit the trusted comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactIdentity {
    name: String,
    version: Version,
    team: String,
    kind: ArtifactKind,
}

impl ArtifactIdentity {
    /// Checks each part: `name` is made of `a-z`, `0-9`, `_` and `-`; `version` is semver;
    /// `team` is not empty and holds no whitespace, control character or `=`.
    pub fn new(name: &str, version: &str, team: &str, kind: ArtifactKind) -> anyhow::Result<Self> {
        if name.is_empty()
            || !name.bytes().all(|byte| {
                byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"_-".contains(&byte)
            })
        {
            bail!("invalid artifact name `{name}`: use only a-z, 0-9, `_` and `-`");
        }
        let version = Version::parse(version)
            .with_context(|| format!("invalid version `{version}`: not semver (e.g. 1.3.0)"))?;
        check_team(team)?;
        Ok(Self {
            name: name.to_owned(),
            version,
            team: team.to_owned(),
            kind,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> &Version {
        &self.version
    }

    pub fn team(&self) -> &str {
        &self.team
    }

    pub fn kind(&self) -> ArtifactKind {
        self.kind
    }

    /// The trusted comment of this artifact's signature, given the artifact's SHA-256 in
    /// lowercase hex: `frontdoor-artifact name=tv version=1.3.0 team=tv-team kind=adapter
    /// sha256=...`, keys always in this order.
    pub fn trusted_comment(&self, sha256_hex: &str) -> String {
        format!(
            "{COMMENT_TAG} name={} version={} team={} kind={} sha256={sha256_hex}",
            self.name, self.version, self.team, self.kind
        )
    }
}

/// A team name goes into a space-separated `key=value` list: it cannot hold either.
pub fn check_team(team: &str) -> anyhow::Result<()> {
    if team.is_empty() {
        bail!("the team name is empty");
    }
    if team
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '=')
    {
        bail!("invalid team name `{team}`: it may not hold whitespace, control characters or `=`");
    }
    Ok(())
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Adapter => "adapter",
            Self::Module => "module",
        })
    }
}
