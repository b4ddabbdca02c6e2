//! `cargo xtask signing-key`: a new minisign key pair for a team, and the line that makes
//! hosts trust it.

use std::{fs, path::PathBuf};

use anyhow::{Context as _, bail};
use xtask::signing::{self, TeamKey};

/// Make a team's signing key pair: DIR/TEAM.key (secret, unencrypted, mode 0600) and
/// DIR/TEAM.pub, in minisign's format.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The team the key signs for, as named in the hosts' `[fleet.keys]`.
    #[arg(long)]
    team: String,
    /// Directory to write the two files to (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    signing::check_team(&args.team)?;
    // The team names two files: it may not climb out of DIR or hide them.
    if args.team.contains('/') || args.team.starts_with('.') {
        bail!(
            "invalid team name `{}`: it names the key files, so it may not contain `/` or start with `.`",
            args.team
        );
    }
    fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create directory {}", args.out.display()))?;
    let secret_path = args.out.join(format!("{}.key", args.team));
    let public_path = args.out.join(format!("{}.pub", args.team));
    let key = TeamKey::generate()?;
    key.write_new(&args.team, &secret_path, &public_path)?;

    let public = key.public_key_base64();
    println!("secret key: {} (keep it secret)", secret_path.display());
    println!("public key: {}", public_path.display());
    println!("{public}");
    println!();
    println!("hosts trust it with this line under [fleet.keys]:");
    println!("{} = [\"{public}\"]", args.team);
    Ok(())
}
