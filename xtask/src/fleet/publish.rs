//! `cargo xtask publish`: build a plugin as `build-plugin` does, sign it with the team's
//! key and hand it to the host binary's `frontdoor fleet publish`, which checks the
//! signature against the config's `[fleet.keys]`, uploads the artifact and records it.

use std::{
    ffi::OsStr,
    fs,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

use anyhow::{Context as _, bail};
use xtask::signing::{self, ArtifactIdentity, ArtifactKind, TeamKey};

use crate::{
    build_plugin::{self, Installed},
    cargo::Profile,
    host,
    workspace::{PluginKind, Workspace},
};

/// Build, sign and publish a plugin to the fleet: the artifact goes to the store and its
/// record to etcd, through the host binary (`frontdoor fleet publish`). An encrypted key is
/// opened with the password in FRONTDOOR_SIGNING_PASSWORD.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plugin: a package name (`tv`), its directory (`plugins/tv`), or the directory of
    /// a crate outside this workspace.
    #[arg(value_name = "PATH-OR-PACKAGE")]
    plugin: String,
    /// The team's minisign secret key file.
    #[arg(long, value_name = "TEAM.key")]
    key: PathBuf,
    /// The team that owns the plugin.
    #[arg(long)]
    team: String,
    /// The host config naming the fleet's etcd, store and `[fleet.keys]`.
    #[arg(long, value_name = "FRONTDOOR_TOML")]
    config: PathBuf,
    /// The plugin's kind; required for a crate outside this workspace, checked otherwise.
    #[arg(long, value_enum)]
    kind: Option<ArtifactKind>,
    /// Build the plugin and the host with the dev profile instead of --release.
    #[arg(long)]
    debug: bool,
    /// Directory to keep the signed artifact in [default: a temporary directory, removed
    /// after publishing].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Build and sign, then print the artifact, its signature and the publish command
    /// instead of running it (the artifact is kept).
    #[arg(long)]
    dry_run: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    // Everything that can be refused is, before minutes of building.
    signing::check_team(&args.team)?;
    let key = TeamKey::load(&args.key)?;
    let config = std::path::absolute(&args.config)
        .with_context(|| format!("invalid config path {}", args.config.display()))?;
    check_config_trusts(&config, &args.team, &key)?;

    let workspace = Workspace::load()?;
    // The plugin builds as `build-plugin` builds it; the host as `release`.
    let (profile, host_profile) = if args.debug {
        (Profile::Dev, Profile::Dev)
    } else {
        (Profile::Plugin, Profile::Release)
    };
    // Removed when dropped, on success as on error, unless a dry run keeps it.
    let mut temp_dir = None;
    let out = match &args.out {
        Some(dir) => std::path::absolute(dir)
            .with_context(|| format!("invalid output directory {}", dir.display()))?,
        None => temp_dir
            .insert(
                tempfile::Builder::new()
                    .prefix("frontdoor-publish-")
                    .tempdir()
                    .context("cannot create a temporary directory")?,
            )
            .path()
            .to_owned(),
    };
    let installed = build_plugin::build_one(&workspace, &args.plugin, profile, &out)?;
    let kind = artifact_kind(&installed, args.kind)?;
    let identity = ArtifactIdentity::new(
        &installed.name,
        &installed.version.to_string(),
        &args.team,
        kind,
    )?;
    let signed = signing::sign_file(&installed.path, &key, &identity)?;
    println!(
        "signed {}@{} sha256={}",
        identity.name(),
        identity.version(),
        signed.sha256
    );
    println!("artifact:  {}", installed.path.display());
    println!("signature: {}", signed.signature_path.display());

    if args.dry_run {
        let frontdoor = expected_host_binary(&workspace, host_profile);
        let command = publish_command(&frontdoor, &config, &installed.path);
        println!("would run: {}", shell_line(&command));
        if let Some(temp_dir) = temp_dir {
            // The paths printed above must stay valid.
            let _ = temp_dir.keep();
        }
        return Ok(ExitCode::SUCCESS);
    }

    let frontdoor = host::build_with(&workspace, host_profile)?;
    let mut command = publish_command(&frontdoor, &config, &installed.path);
    let status = command
        .status()
        .with_context(|| format!("cannot run {}", shell_line(&command)))?;
    match status.code() {
        Some(code) => Ok(ExitCode::from(u8::try_from(code).unwrap_or(1))),
        None => bail!("frontdoor fleet publish did not exit normally ({status})"),
    }
}

/// The kind the signature states: the workspace's, unless `--kind` disagrees; `--kind`
/// alone for a crate outside the workspace.
fn artifact_kind(
    installed: &Installed,
    flag: Option<ArtifactKind>,
) -> anyhow::Result<ArtifactKind> {
    let known = installed.kind.map(|kind| match kind {
        PluginKind::Adapter => ArtifactKind::Adapter,
        PluginKind::SharedModule => ArtifactKind::Module,
    });
    match (known, flag) {
        (Some(known), Some(flag)) if known != flag => bail!(
            "`{}` is of kind {known} in this workspace, not {flag}",
            installed.name
        ),
        (Some(kind), _) | (None, Some(kind)) => Ok(kind),
        (None, None) => bail!(
            "the kind of `{}` (a crate outside this workspace) is unknown: pass --kind adapter or --kind module",
            installed.name
        ),
    }
}

/// Refuses early, before any build, when the hosts' config would refuse the signature:
/// `[fleet.keys]` must list this key's public key for `team`.
fn check_config_trusts(config: &Path, team: &str, key: &TeamKey) -> anyhow::Result<()> {
    let text = fs::read_to_string(config)
        .with_context(|| format!("cannot read the config {}", config.display()))?;
    let table: toml::Table = toml::from_str(&text)
        .with_context(|| format!("cannot parse the config {}", config.display()))?;
    let public = key.public_key_base64();
    let keys = table
        .get("fleet")
        .and_then(|fleet| fleet.get("keys"))
        .and_then(|keys| keys.get(team));
    let Some(keys) = keys else {
        bail!(
            "{} has no key for team `{team}`: add `{team} = [\"{public}\"]` under [fleet.keys]",
            config.display()
        );
    };
    let listed = keys.as_array().is_some_and(|keys| {
        keys.iter()
            .any(|listed| listed.as_str() == Some(public.as_str()))
    });
    if !listed {
        bail!(
            "fleet.keys.{team} in {} does not list this key's public key {public}",
            config.display()
        );
    }
    Ok(())
}

/// `frontdoor fleet publish --config CONFIG ARTIFACT`, its output ours.
fn publish_command(frontdoor: &Path, config: &Path, artifact: &Path) -> Command {
    let mut command = Command::new(frontdoor);
    command
        .args(["fleet", "publish", "--config"])
        .arg(config)
        .arg(artifact);
    command
}

/// Where `cargo build -p frontdoor` puts the host binary for `profile`.
fn expected_host_binary(workspace: &Workspace, profile: Profile) -> PathBuf {
    workspace
        .target_dir
        .join(profile.target_subdir())
        .join("frontdoor")
}

/// The command as one line to copy into a shell (arguments with spaces or quotes quoted).
fn shell_line(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(shell_word)
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_word(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:@,".contains(c));
    if plain {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests;
