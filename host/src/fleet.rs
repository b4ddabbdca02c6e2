//! Fleet mode: publish once, every host serves it.
//!
//! The desired state lives in etcd, the artifacts in an S3-compatible bucket, and a
//! minisign signature by the owning team vouches for each artifact ([`signature`]). A host
//! with `[fleet]` in its config runs three loops beside its usual work:
//! - [`desired`]: watches the published versions, downloads what is new, checks it and
//!   installs it into the local plugins directory, where the deployer loads it like a
//!   dropped file (and the loader checks the signature again, on the bytes it maps);
//! - [`control_sync`]: keeps the operators' decisions (pins, disables, canaries, shadows)
//!   the same on every host: a change on one host is a compare-and-swap of one etcd key,
//!   which every host watches and applies;
//! - [`report`]: tells the fleet, under a lease, what each desired version is on this host
//!   (`GET /admin/fleet` reads every host's report, [`view`]).
//!
//! **Invariant:** etcd or the store being unreachable never stops serving: every loop
//! retries with back-off, a host starts from what its plugins directory holds, and the
//! request path never waits on the fleet.

pub mod config;
pub mod control_sync;
pub mod desired;
pub mod etcd;
pub mod install;
pub mod publish;
pub mod record;
pub mod report;
pub mod retries;
pub mod signature;
pub mod store;
pub mod view;

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::sync::{Notify, watch};

pub use config::{FleetConfig, FleetFileConfig};
pub use signature::{Claim, ClaimedKind, SignatureError, Trust};

use crate::{control::Control, registry::Registry};
use etcd::Etcd;
use record::{ArtifactRecord, Keys};
use store::ArtifactStore;

/// One fleet host's connection to the fleet and what it knows of it.
pub struct Fleet {
    config: FleetConfig,
    keys: Keys,
    etcd: Etcd,
    store: ArtifactStore,
    registry: Arc<Registry>,
    control: Arc<Control>,
    plugins_dir: PathBuf,
    listen: SocketAddr,
    admin_listen: SocketAddr,
    status: Mutex<Status>,
    /// Woken when what this host would report may have changed.
    changed: Notify,
    /// The fleet's decisions' mod revision this host last wrote or adopted.
    decisions_seen: Arc<Mutex<i64>>,
}

/// What the loops learnt last.
#[derive(Debug, Default)]
struct Status {
    /// The published versions, by file name, as of `desired_revision`.
    desired: BTreeMap<String, ArtifactRecord>,
    desired_revision: i64,
    /// What installing each desired file came to on this host.
    outcomes: BTreeMap<String, Outcome>,
    /// The last failure to reach etcd, cleared by the next success.
    etcd_error: Option<String>,
}

/// One desired version's installation on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// In the plugins directory (the registry says how its load went).
    Installed,
    /// Not installed, with the reason (download failed, altered, unsigned).
    Failed(String),
}

impl Fleet {
    /// Connects to the fleet (lazily: nothing here waits for etcd or the store).
    pub async fn new(
        config: FleetConfig,
        max_artifact_bytes: u64,
        registry: Arc<Registry>,
        control: Arc<Control>,
        plugins_dir: PathBuf,
        listen: SocketAddr,
        admin_listen: SocketAddr,
    ) -> anyhow::Result<Arc<Self>> {
        let etcd = Etcd::connect(&config.etcd, config.request_timeout)
            .await
            .map_err(anyhow::Error::msg)?;
        let store = ArtifactStore::new(&config.store, config.request_timeout, max_artifact_bytes)
            .map_err(anyhow::Error::msg)?;
        Ok(Arc::new(Self {
            keys: Keys::new(&config.prefix),
            config,
            etcd,
            store,
            registry,
            control,
            plugins_dir,
            listen,
            admin_listen,
            status: Mutex::new(Status::default()),
            changed: Notify::new(),
            decisions_seen: Arc::new(Mutex::new(0)),
        }))
    }

    /// Runs the loops until `shutdown` changes.
    pub fn start<T: Send + Sync + 'static>(self: &Arc<Self>, shutdown: watch::Receiver<T>) {
        control_sync::attach(self);
        for task in [
            tokio::spawn(desired::run(self.clone())),
            tokio::spawn(control_sync::run(self.clone())),
            tokio::spawn(report::run(self.clone())),
        ] {
            let mut shutdown = shutdown.clone();
            tokio::spawn(async move {
                let _ = shutdown.changed().await;
                task.abort();
            });
        }
    }

    pub fn host_id(&self) -> &str {
        &self.config.host_id
    }

    fn lock(&self) -> MutexGuard<'_, Status> {
        self.status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Notes that etcd answered (`None`) or why it did not.
    fn note_etcd(&self, error: Option<String>) {
        let mut status = self.lock();
        if status.etcd_error != error {
            match &error {
                Some(error) => {
                    tracing::warn!(%error, "the fleet's etcd is unreachable; serving the last known state")
                }
                None if status.etcd_error.is_some() => {
                    tracing::info!("the fleet's etcd answers again")
                }
                None => {}
            }
            status.etcd_error = error;
        }
    }
}

/// Doubling pauses between attempts, from 100 ms up to `max`.
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(max: Duration) -> Self {
        Self {
            next: Duration::from_millis(100).min(max),
            max,
        }
    }

    pub(crate) async fn wait(&mut self) {
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(self.max);
    }

    pub(crate) fn reset(&mut self) {
        self.next = Duration::from_millis(100).min(self.max);
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}
