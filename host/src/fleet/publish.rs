//! Publishing a signed artifact to the fleet (`frontdoor fleet publish`): checked against
//! the fleet's keys, uploaded under its digest, then recorded in etcd as desired with a
//! create-if-absent transaction, so two publishers never overwrite each other: a version is
//! immutable once published.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use clap::{Args, Subcommand};

use super::{
    FleetConfig,
    etcd::{Created, Etcd},
    now_ms,
    record::{ArtifactRecord, Keys},
    store::ArtifactStore,
};
use crate::loader::signature_path;

/// How a publish ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// Recorded now.
    New(ArtifactRecord),
    /// The same bytes were published before: nothing changed.
    Already(ArtifactRecord),
}

/// Publishes the artifact at `artifact`, signed by `artifact.minisig`: [`upload`], then
/// [`record`].
pub async fn publish(config: &FleetConfig, artifact: &Path) -> Result<Published, String> {
    let etcd = Etcd::connect(&config.etcd, config.request_timeout).await?;
    let keys = Keys::new(&config.prefix);
    let (record, bytes) = read_signed(config, artifact)?;
    let key = keys.artifact(&record.name, &record.version);
    if let (Some(existing), _) = etcd.get(&key).await? {
        return same_or_refused(&record, &existing.value);
    }
    upload(config, &record, bytes).await?;
    record_desired(config, &record).await
}

/// Reads and checks a signed artifact: what every host would refuse (a wrong key, an
/// unowned name, other bytes) is refused here, before anything is uploaded.
pub fn read_signed(
    config: &FleetConfig,
    artifact: &Path,
) -> Result<(ArtifactRecord, Bytes), String> {
    let bytes = std::fs::read(artifact)
        .map_err(|error| format!("cannot read {}: {error}", artifact.display()))?;
    let signature_file = signature_path(artifact);
    let signature = std::fs::read_to_string(&signature_file).map_err(|error| {
        format!(
            "cannot read the signature {} ({error}); sign it first (cargo xtask sign)",
            signature_file.display()
        )
    })?;
    let claim = config
        .trust
        .verify(&mut &bytes[..], &signature)
        .map_err(|error| format!("{}: {error}", artifact.display()))?;
    let keys = Keys::new(&config.prefix);
    let record = ArtifactRecord::new(
        &claim,
        bytes.len() as u64,
        keys.object(&claim.sha256),
        signature,
        now_ms(),
    );
    Ok((record, Bytes::from(bytes)))
}

/// Uploads the bytes of `record` to its content-addressed object, unless the bucket holds
/// them already (a version published again after an unpublish, or the same bytes under
/// another version): other bytes never belong under that key, so an object that is there
/// but altered is replaced.
pub async fn upload(
    config: &FleetConfig,
    record: &ArtifactRecord,
    bytes: Bytes,
) -> Result<(), String> {
    let store = ArtifactStore::new(&config.store, config.request_timeout, u64::MAX)?;
    if store
        .holds(&record.object, record.size, &record.sha256)
        .await?
    {
        return Ok(());
    }
    store.put(&record.object, bytes).await
}

/// Records `record` as desired, unless its version was published already: the same bytes
/// are [`Published::Already`], other bytes a refusal.
pub async fn record_desired(
    config: &FleetConfig,
    record: &ArtifactRecord,
) -> Result<Published, String> {
    let etcd = Etcd::connect(&config.etcd, config.request_timeout).await?;
    let key = Keys::new(&config.prefix).artifact(&record.name, &record.version);
    let value = serde_json::to_vec(record).map_err(|error| error.to_string())?;
    match etcd.create(&key, value).await? {
        Created::Now(_) => Ok(Published::New(record.clone())),
        Created::Existing(existing) => same_or_refused(record, &existing.value),
    }
}

/// Removes `name@version` from the published versions: every host removes its file and the
/// version retires there (requests in flight finish). `false` when it was not published.
/// The bytes stay in the bucket (content addressed, perhaps shared).
pub async fn unpublish(
    config: &FleetConfig,
    name: &str,
    version: &semver::Version,
) -> Result<bool, String> {
    let etcd = Etcd::connect(&config.etcd, config.request_timeout).await?;
    let key = Keys::new(&config.prefix).artifact(name, version);
    etcd.delete(&key).await
}

/// A version recorded already: fine if it is these bytes, refused otherwise.
fn same_or_refused(record: &ArtifactRecord, existing: &[u8]) -> Result<Published, String> {
    let existing: ArtifactRecord = serde_json::from_slice(existing).map_err(|error| {
        format!(
            "{} has an unreadable record in etcd: {error}",
            record.plugin()
        )
    })?;
    if existing.sha256 == record.sha256 {
        return Ok(Published::Already(existing));
    }
    Err(format!(
        "{} was already published with other bytes (sha256 {}, by team {}); a published version never changes: publish a new version",
        record.plugin(),
        existing.sha256,
        existing.team
    ))
}

/// `frontdoor fleet ...`
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// The host configuration file whose `[fleet]` table names etcd, the bucket and keys.
    #[arg(long, env = "FRONTDOOR_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: FleetCommand,
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Publish a signed artifact (ARTIFACT.minisig beside it) to every host of the fleet.
    Publish {
        /// The artifact (`name-version.so`).
        artifact: PathBuf,
    },
    /// Withdraw a published version from every host (each removes its file; the version
    /// retires as after a deleted file).
    Unpublish {
        name: String,
        version: semver::Version,
    },
    /// Print the published versions and every host's report, as JSON.
    Status,
}

/// Runs `frontdoor fleet ...`; the exit code is 0 on success, 1 when refused or failed.
pub fn run(args: FleetArgs) -> std::process::ExitCode {
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start a runtime: {error}"))
        .and_then(|runtime| runtime.block_on(run_command(args)));
    match outcome {
        Ok(line) => {
            println!("{line}");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("frontdoor fleet: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run_command(args: FleetArgs) -> Result<String, String> {
    let serve = crate::config::ServeArgs {
        config: args.config.clone(),
        ..crate::config::ServeArgs::default()
    };
    let host = serve.resolve().map_err(|error| error.to_string())?;
    let config = host.fleet.ok_or_else(|| {
        "the configuration has no [fleet] table (pass --config FILE or set FRONTDOOR_CONFIG)"
            .to_owned()
    })?;
    match args.command {
        FleetCommand::Publish { artifact } => match publish(&config, &artifact).await? {
            Published::New(record) => Ok(format!(
                "published {} sha256={}",
                record.plugin(),
                record.sha256
            )),
            Published::Already(record) => Ok(format!(
                "already published {} sha256={}",
                record.plugin(),
                record.sha256
            )),
        },
        FleetCommand::Unpublish { name, version } => {
            if unpublish(&config, &name, &version).await? {
                Ok(format!("unpublished {name}@{version}"))
            } else {
                Err(format!("{name}@{version} is not published"))
            }
        }
        FleetCommand::Status => {
            let etcd = Etcd::connect(&config.etcd, config.request_timeout).await?;
            let view =
                super::view::read(&etcd, &Keys::new(&config.prefix), &config.host_id).await?;
            serde_json::to_string_pretty(&view).map_err(|error| error.to_string())
        }
    }
}
