//! `cargo xtask sign`: sign one artifact for fleet mode, writing `ARTIFACT.minisig`.

use std::path::PathBuf;

use xtask::signing::{self, ArtifactIdentity, ArtifactKind, TeamKey};

/// Sign an artifact with a team's key: writes ARTIFACT.minisig, whose trusted comment names
/// the artifact's name, version, team, kind and SHA-256. An encrypted key (made by
/// `minisign -G`) is opened with the password in the FRONTDOOR_SIGNING_PASSWORD
/// environment variable.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The artifact to sign (`tv-1.3.0.so`).
    artifact: PathBuf,
    /// The team's minisign secret key file.
    #[arg(long, value_name = "TEAM.key")]
    key: PathBuf,
    /// The team that owns the artifact.
    #[arg(long)]
    team: String,
    /// The plugin's name (a-z, 0-9, `_`, `-`).
    #[arg(long)]
    name: String,
    /// The plugin's semver version.
    #[arg(long)]
    version: String,
    /// The plugin's kind.
    #[arg(long, value_enum)]
    kind: ArtifactKind,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let identity = ArtifactIdentity::new(&args.name, &args.version, &args.team, args.kind)?;
    let key = TeamKey::load(&args.key)?;
    let signed = signing::sign_file(&args.artifact, &key, &identity)?;
    println!(
        "signed {}@{} sha256={} -> {}",
        identity.name(),
        identity.version(),
        signed.sha256,
        signed.signature_path.display()
    );
    Ok(())
}
