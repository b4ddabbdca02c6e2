//! Recycling: the host hands its listening sockets to a fresh process of its binary (or of
//! a new binary: an upgrade) and leaves once that process serves, so devices never see a
//! restart and retired libraries, which are never unmapped, are shed with the old process.
//!
//! A recycle, whatever triggered it (`POST /admin/recycle`, SIGUSR2, the automatic
//! thresholds in `[recycle]`): the host spawns the successor with its own arguments and
//! the handover socket's path in its environment (`successor.rs`); the successor connects,
//! receives the device and admin listeners and the state directory's lock with
//! `SCM_RIGHTS` (`handover.rs`), loads the plugins directory and the saved state, warms up
//! and reports `ready`; the host answers `go`; the successor starts accepting, writes the
//! PID file (`pid_file.rs`) and says `accepting`; only then does the host stop accepting
//! and drain. Both accept on the same sockets for a moment, so there is no instant when
//! a connection waits for nobody. If the successor fails to start or is not ready within
//! `ready_timeout`, it is killed and the host keeps serving; the reason is logged, kept
//! for `GET /admin/recycle` and counted in `/metrics`. One recycle at a time: a second one
//! is refused (409), and a host that handed over refuses every later one.

mod auto;
pub mod config;
pub mod endpoint;
pub mod handover;
pub mod pid_file;
mod successor;

use std::{
    ffi::OsString,
    os::fd::{AsFd as _, OwnedFd},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde::Serialize;
use tokio::sync::watch;

pub use auto::spawn_auto;
pub use config::{RecycleConfig, RecycleFileConfig};
pub use handover::{Inherited, SOCKET_ENV};

/// Why a recycle did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RecycleError {
    #[error("a recycle is already in progress")]
    InProgress,
    #[error("this process has handed over to its successor (pid {successor}); ask it instead")]
    HandedOver { successor: u32 },
    #[error("recycling needs a host started by the frontdoor binary")]
    Unavailable,
    #[error("the binary {binary} cannot be used: {reason}")]
    Binary { binary: PathBuf, reason: String },
    #[error("cannot start {binary}: {source}")]
    Spawn {
        binary: PathBuf,
        source: std::io::Error,
    },
    #[error("the successor exited before it served: {status}")]
    Exited { status: String },
    #[error("the successor cannot serve: {reason}")]
    Failed { reason: String },
    #[error("the successor was not ready within {after:?}; it was killed")]
    NotReady { after: Duration },
    #[error("the handover channel failed: {0}")]
    Channel(String),
}

/// What set a recycle off.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Trigger {
    /// `POST /admin/recycle` by a team.
    Admin { team: String },
    /// SIGUSR2.
    Signal,
    /// An automatic threshold.
    Auto { reason: String },
}

/// How the last recycle ended, as `GET /admin/recycle` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// `recycled` or `failed`.
    pub outcome: &'static str,
    pub trigger: Trigger,
    /// The binary the successor ran.
    pub binary: PathBuf,
    pub started_unix_ms: u128,
    pub took_ms: u128,
    /// The successor, when it serves.
    pub successor_pid: Option<u32>,
    /// Why it failed.
    pub reason: Option<String>,
}

/// `GET /admin/recycle`.
#[derive(Debug, Serialize)]
pub struct RecycleView {
    pub pid: u32,
    /// The host this process took over from, if it was started by a recycle.
    pub predecessor_pid: Option<u32>,
    pub available: bool,
    pub in_progress: bool,
    pub handed_over_to: Option<u32>,
    pub last: Option<Outcome>,
    pub succeeded: u64,
    pub failed: u64,
}

/// How this host starts a successor: the binary and arguments it was started with.
#[derive(Debug, Clone)]
pub struct Relaunch {
    /// The binary to run when a recycle names none (`/proc/self/exe`: the very code that
    /// runs, even if the file at its path was replaced).
    pub binary: PathBuf,
    pub args: Vec<OsString>,
}

/// The descriptors a successor receives, held (duplicated) for the life of the host.
pub struct Descriptors {
    pub device: OwnedFd,
    pub admin: OwnedFd,
    pub state_lock: OwnedFd,
}

/// Counts of recycles for `/metrics`.
#[derive(Debug, Default)]
pub struct RecycleCounters {
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
}

/// One host's recycles.
pub struct Recycler {
    config: RecycleConfig,
    relaunch: Option<Relaunch>,
    descriptors: Descriptors,
    socket_path: PathBuf,
    /// Where recycles run: not on the caller's task, so a client that disconnects from
    /// `POST /admin/recycle` does not cancel one halfway.
    runtime: tokio::runtime::Handle,
    state: Mutex<State>,
    counters: Arc<RecycleCounters>,
    predecessor: Option<u32>,
    /// Told when a recycle starts and ends (`true` while one runs): the control plane
    /// holds operators' changes meanwhile, which the successor would not see.
    on_progress: Box<dyn Fn(bool) + Send + Sync>,
    handed_over: watch::Sender<Option<u32>>,
}

#[derive(Default)]
struct State {
    in_progress: bool,
    handed_over_to: Option<u32>,
    last: Option<Outcome>,
}

/// What [`Recycler::new`] needs.
pub struct RecyclerParts {
    pub config: RecycleConfig,
    pub relaunch: Option<Relaunch>,
    pub descriptors: Descriptors,
    pub state_dir: PathBuf,
    pub runtime: tokio::runtime::Handle,
    pub counters: Arc<RecycleCounters>,
    pub predecessor: Option<u32>,
    pub on_progress: Box<dyn Fn(bool) + Send + Sync>,
}

impl Recycler {
    pub fn new(parts: RecyclerParts) -> Self {
        Self {
            config: parts.config,
            relaunch: parts.relaunch,
            descriptors: parts.descriptors,
            socket_path: parts.state_dir.join("recycle.sock"),
            runtime: parts.runtime,
            state: Mutex::new(State::default()),
            counters: parts.counters,
            predecessor: parts.predecessor,
            on_progress: parts.on_progress,
            handed_over: watch::channel(None).0,
        }
    }

    /// The settings of `[recycle]`.
    pub fn config(&self) -> &RecycleConfig {
        &self.config
    }

    /// Runs a recycle to its end: `Ok` once the successor accepts (this host must then
    /// stop: [`Recycler::handed_over`] says so), else why not. `binary` runs instead of
    /// this host's own (an upgrade); it must be an executable regular file.
    pub async fn recycle(
        self: &Arc<Self>,
        trigger: Trigger,
        binary: Option<PathBuf>,
    ) -> Result<Outcome, RecycleError> {
        let relaunch = self.relaunch.clone().ok_or(RecycleError::Unavailable)?;
        let binary = match binary {
            Some(binary) => {
                check_binary(&binary)?;
                binary
            }
            None => relaunch.binary.clone(),
        };
        {
            let mut state = self.lock();
            if let Some(successor) = state.handed_over_to {
                return Err(RecycleError::HandedOver { successor });
            }
            if state.in_progress {
                return Err(RecycleError::InProgress);
            }
            state.in_progress = true;
        }
        (self.on_progress)(true);
        let recycler = self.clone();
        let run = self.runtime.spawn(async move {
            let started = Instant::now();
            let started_unix_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_millis());
            tracing::info!(?trigger, binary = %binary.display(), "recycle: starting a successor");
            let result = successor::hand_over(successor::Launch {
                binary: &binary,
                args: &relaunch.args,
                socket_path: &recycler.socket_path,
                ready_timeout: recycler.config.ready_timeout,
                descriptors: [
                    recycler.descriptors.device.as_fd(),
                    recycler.descriptors.admin.as_fd(),
                    recycler.descriptors.state_lock.as_fd(),
                ],
            })
            .await;
            let outcome = Outcome {
                outcome: if result.is_ok() { "recycled" } else { "failed" },
                trigger,
                binary,
                started_unix_ms,
                took_ms: started.elapsed().as_millis(),
                successor_pid: result.as_ref().ok().copied(),
                reason: result.as_ref().err().map(ToString::to_string),
            };
            recycler.finish(&outcome, &result);
            result.map(|_| outcome)
        });
        match run.await {
            Ok(result) => result,
            Err(error) => {
                // The task panicked or the runtime is shutting down: nothing was handed over.
                let failure = RecycleError::Channel(format!("the recycle task ended: {error}"));
                self.lock().in_progress = false;
                (self.on_progress)(false);
                Err(failure)
            }
        }
    }

    /// Records the outcome; on success this host is handed over for good.
    fn finish(&self, outcome: &Outcome, result: &Result<u32, RecycleError>) {
        let mut state = self.lock();
        state.last = Some(outcome.clone());
        match result {
            Ok(successor) => {
                self.counters.succeeded.fetch_add(1, Ordering::Relaxed);
                state.handed_over_to = Some(*successor);
                drop(state);
                tracing::info!(successor_pid = successor, took_ms = %outcome.took_ms, "recycle: the successor serves; this process stops accepting and drains");
                self.handed_over.send_replace(Some(*successor));
            }
            Err(error) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                state.in_progress = false;
                drop(state);
                (self.on_progress)(false);
                tracing::error!(%error, "recycle failed; this process keeps serving");
            }
        }
    }

    /// Resolves with the successor's pid once this host handed over.
    pub async fn handed_over(&self) -> u32 {
        let mut receiver = self.handed_over.subscribe();
        loop {
            if let Some(successor) = *receiver.borrow_and_update() {
                return successor;
            }
            if receiver.changed().await.is_err() {
                // The recycler outlives every waiter: its sender is never dropped first.
                std::future::pending::<()>().await;
            }
        }
    }

    /// What `GET /admin/recycle` shows.
    pub fn view(&self) -> RecycleView {
        let state = self.lock();
        RecycleView {
            pid: std::process::id(),
            predecessor_pid: self.predecessor,
            available: self.relaunch.is_some(),
            in_progress: state.in_progress && state.handed_over_to.is_none(),
            handed_over_to: state.handed_over_to,
            last: state.last.clone(),
            succeeded: self.counters.succeeded.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A binary given for an upgrade must be an executable regular file.
fn check_binary(binary: &Path) -> Result<(), RecycleError> {
    use std::os::unix::fs::PermissionsExt as _;
    let refuse = |reason: String| RecycleError::Binary {
        binary: binary.to_owned(),
        reason,
    };
    if !binary.is_absolute() {
        return Err(refuse("give an absolute path".into()));
    }
    let metadata = std::fs::metadata(binary).map_err(|error| refuse(error.to_string()))?;
    if !metadata.is_file() {
        return Err(refuse("not a regular file".into()));
    }
    if metadata.permissions().mode() & 0o111 == 0 {
        return Err(refuse("not executable".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
