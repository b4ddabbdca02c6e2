//! Follows the published versions: lists them, installs what this host lacks, removes
//! what was unpublished, then watches for the next change (and retries failed installs
//! with a growing pause, [`Retries`], so a store that was down is caught up with).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use sha2::{Digest as _, Sha256};

use super::{
    Backoff, Fleet, Outcome,
    etcd::Listing,
    install,
    record::ArtifactRecord,
    retries::Retries,
    signature::{SIGNATURE_SUFFIX, hex},
};
use crate::{deploy::is_artifact_name, loader::signature_path};

/// Runs for the life of the host.
pub async fn run(fleet: Arc<Fleet>) {
    let mut backoff = Backoff::new(fleet.config.max_backoff);
    let mut retries = Retries::new(fleet.config.max_backoff);
    loop {
        if let Err(error) = follow(&fleet, &mut backoff, &mut retries).await {
            fleet.note_etcd(Some(error));
        }
        backoff.wait().await;
    }
}

/// Lists, installs, then follows the watch until it fails.
async fn follow(
    fleet: &Arc<Fleet>,
    backoff: &mut Backoff,
    retries: &mut Retries,
) -> Result<(), String> {
    let prefix = fleet.keys.artifacts();
    let listing = fleet.etcd.list(&prefix).await?;
    fleet.note_etcd(None);
    backoff.reset();
    let mut revision = listing.revision;
    reconcile(fleet, listing, retries).await;
    let mut stream = fleet.etcd.watch(&prefix, true, revision + 1).await?;
    loop {
        let next_retry = retries.next_due();
        let retry = async move {
            match next_retry {
                Some(due) => tokio::time::sleep_until(due).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            message = stream.message() => {
                let message = message
                    .map_err(|error| format!("etcd watch: {error}"))?
                    .ok_or("etcd watch ended")?;
                if message.canceled() {
                    return Err(format!("etcd watch canceled: {}", message.cancel_reason()));
                }
                if message.events().is_empty() {
                    continue;
                }
            }
            () = retry => {}
        }
        let listing = fleet.etcd.list(&prefix).await?;
        if listing.revision < revision {
            // A member behind the one answered before: wait for it to catch up.
            continue;
        }
        revision = listing.revision;
        reconcile(fleet, listing, retries).await;
    }
}

/// Brings the plugins directory in line with the published versions of `listing`.
async fn reconcile(fleet: &Arc<Fleet>, listing: Listing, retries: &mut Retries) {
    let mut desired = BTreeMap::new();
    for entry in &listing.entries {
        match serde_json::from_slice::<ArtifactRecord>(&entry.value) {
            Ok(record)
                if record.file_name == super::record::file_name(&record.name, &record.version) =>
            {
                desired.insert(record.file_name.clone(), record);
            }
            Ok(record) => {
                tracing::warn!(key = %entry.key, file = %record.file_name, "a fleet record with a file name of its own choosing; ignored")
            }
            Err(error) => {
                tracing::warn!(key = %entry.key, %error, "an unreadable fleet record; ignored")
            }
        }
    }
    {
        let mut status = fleet.lock();
        status.desired = desired.clone();
        status.desired_revision = listing.revision;
        status.outcomes.retain(|file, _| desired.contains_key(file));
    }
    retries.retain(|file| desired.contains_key(file));
    for record in desired.values() {
        let installed = fleet.lock().outcomes.get(&record.file_name) == Some(&Outcome::Installed);
        let path = fleet.plugins_dir.join(&record.file_name);
        if installed && path.exists() {
            continue;
        }
        if !retries.is_due(&record.file_name, tokio::time::Instant::now()) {
            // Failed lately: it keeps its reason until its next try.
            continue;
        }
        let outcome = install_one(fleet, record, path).await;
        match &outcome {
            Outcome::Failed(reason) => {
                tracing::warn!(plugin = %record.plugin(), %reason, "a published version cannot be installed");
                retries.failed(&record.file_name, tokio::time::Instant::now());
            }
            Outcome::Installed => retries.succeeded(&record.file_name),
        }
        fleet
            .lock()
            .outcomes
            .insert(record.file_name.clone(), outcome);
        fleet.changed.notify_one();
    }
    let dir = fleet.plugins_dir.clone();
    let keep: Vec<String> = desired.keys().cloned().collect();
    let _ = tokio::task::spawn_blocking(move || remove_unpublished(&dir, &keep)).await;
    fleet.changed.notify_one();
}

/// Downloads, checks and writes one version, unless the same bytes are in place already
/// (a restarted host).
async fn install_one(fleet: &Fleet, record: &ArtifactRecord, path: PathBuf) -> Outcome {
    let expected = record.sha256.clone();
    let local = path.clone();
    let in_place = tokio::task::spawn_blocking(move || {
        signature_path(&local).is_file()
            && digest_of(&local).is_some_and(|digest| digest == expected)
    })
    .await
    .unwrap_or(false);
    if in_place {
        return Outcome::Installed;
    }
    let bytes = match fleet.store.get(&record.object).await {
        Ok(bytes) => bytes,
        Err(error) => return Outcome::Failed(error),
    };
    if let Err(reason) = install::check(&fleet.config.trust, record, &bytes) {
        return Outcome::Failed(reason);
    }
    let dir = fleet.plugins_dir.clone();
    let record = record.clone();
    match tokio::task::spawn_blocking(move || install::write(&dir, &record, &bytes)).await {
        Ok(Ok(written)) => {
            tracing::info!(file = %written.display(), "installed a published version");
            Outcome::Installed
        }
        Ok(Err(error)) => Outcome::Failed(error),
        Err(_) => Outcome::Failed("installing it panicked".into()),
    }
}

/// SHA-256 of the file at `path`, if it can be read.
fn digest_of(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut digest = Sha256::new();
    std::io::copy(&mut file, &mut digest).ok()?;
    Some(hex(&digest.finalize()))
}

/// Removes the fleet's artifacts (those with a signature beside them) that are no longer
/// published, so their versions retire on every host.
fn remove_unpublished(dir: &Path, keep: &[String]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        let Some(artifact) = name.strip_suffix(SIGNATURE_SUFFIX) else {
            continue;
        };
        let artifact_path = dir.join(artifact);
        if is_artifact_name(&artifact_path) && !keep.iter().any(|file| file == artifact) {
            tracing::info!(file = %artifact_path.display(), "removing a version that is no longer published");
            install::remove(&artifact_path);
        }
    }
}
