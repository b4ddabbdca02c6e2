//! The deployer thread: file-system events in, deploys and retirements out.
//!
//! notify delivers raw inotify events on its own thread; they are forwarded over a
//! crossbeam channel to this thread, which does the blocking work (read, copy, dlopen) so
//! neither notify nor the request runtime ever waits on a load.
//!
//! How an event becomes a load:
//! - renamed into place (`IN_MOVED_TO`): the file is complete, check it now;
//! - created or written (`IN_CREATE`, `IN_MODIFY`): someone is writing it, wait;
//! - closed after writing (`IN_CLOSE_WRITE`): check it after a short settle delay, in case
//!   the writer reopens it to append;
//! - removed or renamed away: check now (the check finds it gone and retires it);
//! - created as anything but a regular file (a symlink, directory, FIFO, socket): nothing
//!   will write and close it, so check now (and refuse it with a reason);
//! - metadata changed (`IN_ATTRIB`: mode, owner): check now, so a file refused for its
//!   permissions loads once they are fixed; on the directory itself, every refused file is
//!   tried again (the directory's own mode and owner are checked for each artifact).
//!
//! A periodic reconcile catches anything the events missed (queue overflow, a writer that
//! never closes), skipping files that are still being written.

use std::{
    collections::HashMap,
    os::unix::fs::MetadataExt as _,
    path::{Path, PathBuf},
    sync::Arc,
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use notify::{
    EventKind, RecommendedWatcher, RecursiveMode, Watcher as _,
    event::{AccessKind, AccessMode, CreateKind, ModifyKind, RenameMode},
};
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::{Claims, bundle, is_artifact_name, is_bundle_name, reconcile_except, sync_entry};
use crate::{metrics::HostMetrics, registry::Registry};

/// Timing of the deployer.
#[derive(Debug, Clone)]
pub struct DeployerConfig {
    /// Quiet time after a writer closes a file before it is loaded.
    pub settle: Duration,
    /// How often the whole directory is reconciled as a safety net.
    pub reconcile_every: Duration,
    /// A file written to but never closed is loaded by the reconcile after this long.
    pub stalled_writer: Duration,
    /// Runs before each file is brought in line: how tests inject a fault into the
    /// deployer thread (a panic) to show it is supervised. `None` in production.
    pub fault_injection: Option<fn(&Path)>,
    /// How much the deployer thread's nice value is raised over the process's (0 to 19,
    /// capped at nice 19): loading is background work, so it yields the CPU to serving
    /// threads on a busy core. The load probe and the init hook's thread
    /// start from this thread and inherit it. 0 leaves the thread as it was started.
    pub nice: i32,
    /// Runs the deployer thread under `SCHED_IDLE` (see [`super::priority`]): it takes the
    /// CPU only when no thread of the machine wants it, so a reload does not push requests
    /// back, but waits while the machine is busy. Off unless configured.
    pub idle: bool,
}

/// [`DeployerConfig::nice`] unless configured: low enough that a reload barely shows on a
/// core busy serving, high enough that a reload still finishes in milliseconds there.
pub const DEFAULT_NICE: i32 = 10;

impl Default for DeployerConfig {
    fn default() -> Self {
        Self {
            settle: Duration::from_millis(25),
            reconcile_every: Duration::from_secs(2),
            stalled_writer: Duration::from_secs(10),
            fault_injection: None,
            nice: DEFAULT_NICE,
            idle: false,
        }
    }
}

/// The running watcher and deployer thread; [`Deployer::stop`] ends both.
pub struct Deployer {
    // Held for its Drop: dropping the watcher stops inotify.
    _watcher: RecommendedWatcher,
    messages: Sender<Message>,
    thread: Option<JoinHandle<()>>,
}

enum Message {
    Fs(notify::Result<notify::Event>),
    Stop,
}

impl Deployer {
    /// Watches `dir` and keeps `registry` in step with it.
    pub fn start(
        registry: Arc<Registry>,
        dir: &Path,
        config: DeployerConfig,
        metrics: Arc<HostMetrics>,
    ) -> notify::Result<Self> {
        let (messages, inbox) = crossbeam_channel::unbounded();
        let forward = messages.clone();
        let mut watcher = notify::recommended_watcher(move |event| {
            let _ = forward.send(Message::Fs(event));
        })?;
        watcher.watch(dir, RecursiveMode::NonRecursive)?;
        let loop_state = DeployLoop {
            registry,
            dir: dir.to_owned(),
            config,
            metrics,
            writing: HashMap::new(),
            due: HashMap::new(),
            dir_access: DirAccess::of(dir),
            in_progress: None,
            restarted: false,
        };
        let thread = std::thread::Builder::new()
            .name("frontdoor-deployer".into())
            .spawn(move || {
                super::priority::lower(loop_state.config.nice, loop_state.config.idle);
                // Its probes run idle first: see `loader::probe`.
                crate::loader::mark_background_thread();
                loop_state.supervise(&inbox)
            })
            .map_err(notify::Error::io)?;
        Ok(Self {
            _watcher: watcher,
            messages,
            thread: Some(thread),
        })
    }

    /// Stops watching and waits for a deploy in progress to finish.
    pub fn stop(mut self) {
        let _ = self.messages.send(Message::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct DeployLoop {
    registry: Arc<Registry>,
    dir: PathBuf,
    config: DeployerConfig,
    /// Where each reload's time is observed.
    metrics: Arc<HostMetrics>,
    /// Files with writes seen and no close yet, with the time of the last write.
    writing: HashMap<PathBuf, Instant>,
    /// Files to check, and when.
    due: HashMap<PathBuf, Instant>,
    /// The plugins directory's mode and owner when last looked at.
    dir_access: Option<DirAccess>,
    /// The file being brought in line right now (named if the deployer panics on it).
    in_progress: Option<PathBuf>,
    /// The loop was restarted after a panic.
    restarted: bool,
}

/// What of the plugins directory decides whether its artifacts are trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DirAccess {
    mode: u32,
    uid: u32,
    gid: u32,
}

impl DirAccess {
    fn of(dir: &Path) -> Option<Self> {
        std::fs::metadata(dir).ok().map(|metadata| Self {
            mode: metadata.mode(),
            uid: metadata.uid(),
            gid: metadata.gid(),
        })
    }
}

impl DeployLoop {
    /// Runs the loop until told to stop. A panic in it (a bug in the host's loading code)
    /// must not silently end hot reload: it is logged, the file it was on is refused with
    /// the reason (until it changes, so a file that trips the bug cannot loop it), and the
    /// loop starts again from a fresh reconcile.
    fn supervise(mut self, inbox: &Receiver<Message>) {
        loop {
            match catch_unwind(AssertUnwindSafe(|| self.run(inbox))) {
                Ok(()) => return,
                Err(payload) => {
                    let message = panic_message(payload.as_ref());
                    let restarts = self.registry.note_deployer_restart();
                    tracing::error!(
                        panic = %message,
                        file = ?self.in_progress,
                        restarts,
                        "the deployer thread panicked; restarting it"
                    );
                    if let Some(path) = self.in_progress.take() {
                        self.registry.refuse(
                            &path,
                            format!(
                                "the deployer panicked while loading it ({message}); it stays refused until the file changes"
                            ),
                        );
                    }
                    self.writing.clear();
                    self.due.clear();
                    self.restarted = true;
                }
            }
        }
    }

    /// Brings one file in line, noting which.
    fn sync(&mut self, path: &Path, claims: &Claims) {
        let writing = &self.writing;
        sync_noted(
            &self.registry,
            claims,
            &|path| writing.contains_key(path),
            &mut self.in_progress,
            self.config.fault_injection,
            &self.metrics,
            path,
        );
    }

    fn run(&mut self, inbox: &Receiver<Message>) {
        // After a restart, look at everything at once (events may have been lost with the
        // panic); at start-up the host reconciles itself before serving.
        let mut next_reconcile = if self.restarted {
            Instant::now()
        } else {
            Instant::now() + self.config.reconcile_every
        };
        loop {
            let now = Instant::now();
            let wake = self
                .due
                .values()
                .copied()
                .min()
                .unwrap_or(next_reconcile)
                .min(next_reconcile);
            let message = inbox.recv_timeout(wake.saturating_duration_since(now));
            // Whatever this turn loads, the watchdog paces it (`watchdog::Pacing`).
            let _pacing = crate::containment::watchdog::Pacing::start();
            match message {
                Ok(Message::Fs(Ok(event))) => self.on_event(event),
                Ok(Message::Fs(Err(error))) => {
                    tracing::warn!(%error, "file watcher error; reconciling the plugins directory");
                    next_reconcile = Instant::now();
                }
                Ok(Message::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.check_due();
            if Instant::now() >= next_reconcile {
                // Events already queued come first: a file whose creation is still in the
                // queue is being written, and the reconcile must know to leave it alone.
                while let Ok(message) = inbox.try_recv() {
                    match message {
                        Message::Fs(Ok(event)) => self.on_event(event),
                        Message::Fs(Err(error)) => {
                            tracing::warn!(%error, "file watcher error");
                        }
                        Message::Stop => return,
                    }
                }
                self.reconcile();
                next_reconcile = Instant::now() + self.config.reconcile_every;
            }
        }
    }

    fn on_event(&mut self, event: notify::Event) {
        if event.need_rescan() {
            self.reconcile();
            return;
        }
        let now = Instant::now();
        for path in &event.paths {
            if path == &self.dir {
                if matches!(event.kind, EventKind::Modify(ModifyKind::Metadata(_))) {
                    // Its mode or owner may have changed: the reconcile tries every refused
                    // file again if so.
                    self.reconcile();
                }
                continue;
            }
            if path.parent() != Some(self.dir.as_path())
                || !(is_artifact_name(path) || is_bundle_name(path))
            {
                continue;
            }
            match event.kind {
                EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
                    self.writing.remove(path);
                    self.due.insert(path.clone(), now);
                }
                EventKind::Modify(ModifyKind::Name(RenameMode::From)) | EventKind::Remove(_) => {
                    self.writing.remove(path);
                    self.due.insert(path.clone(), now);
                }
                EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
                    self.writing.remove(path);
                    self.due.insert(path.clone(), now + self.config.settle);
                }
                EventKind::Create(kind) if !is_regular_file(kind, path) => {
                    self.writing.remove(path);
                    self.due.insert(path.clone(), now);
                }
                EventKind::Create(_) | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) => {
                    self.writing.insert(path.clone(), now);
                    self.due.remove(path);
                }
                // A writer may chmod before it closes (`cp` does): wait for the close.
                EventKind::Modify(ModifyKind::Metadata(_)) if !self.writing.contains_key(path) => {
                    self.due.insert(path.clone(), now);
                }
                // Our own reads (open, close-nowrite) and the paired rename event carry
                // nothing new.
                _ => {}
            }
        }
    }

    fn check_due(&mut self) {
        let now = Instant::now();
        let ready: Vec<PathBuf> = self
            .due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(path, _)| path.clone())
            .collect();
        if ready.is_empty() {
            return;
        }
        // Once for the batch: a thousand files dropped at once must not list the directory
        // a thousand times.
        let claims = bundle::claims(&self.dir);
        for path in ready {
            self.due.remove(&path);
            self.sync(&path, &claims);
        }
    }

    fn reconcile(&mut self) {
        // Checked at every reconcile, so a missed IN_ATTRIB on the directory is caught too.
        let now = DirAccess::of(&self.dir);
        if now != self.dir_access {
            self.dir_access = now;
            self.registry.retry_failed();
        }
        let stalled = self.config.stalled_writer;
        self.writing
            .retain(|_, last_write| last_write.elapsed() < stalled);
        let writing = &self.writing;
        let is_writing = |path: &Path| writing.contains_key(path);
        let (registry, dir, in_progress, fault, metrics) = (
            &self.registry,
            &self.dir,
            &mut self.in_progress,
            self.config.fault_injection,
            &self.metrics,
        );
        if let Err(error) = reconcile_except(registry, dir, is_writing, |path, claims| {
            sync_noted(
                registry,
                claims,
                &is_writing,
                in_progress,
                fault,
                metrics,
                path,
            )
        }) {
            tracing::warn!(%error, dir = %self.dir.display(), "cannot reconcile the plugins directory");
        }
    }
}

/// Brings `path` in line (an artifact, or a bundle through its manifest or a member), with
/// `in_progress` naming it meanwhile; a changed file's reload (load or refusal, or
/// retirement, and publication) is timed.
fn sync_noted(
    registry: &Registry,
    claims: &Claims,
    writing: &dyn Fn(&Path) -> bool,
    in_progress: &mut Option<PathBuf>,
    fault_injection: Option<fn(&Path)>,
    metrics: &HostMetrics,
    path: &Path,
) {
    *in_progress = Some(path.to_owned());
    let changed = !registry.is_unchanged(path);
    // The injected fault stands for a bug in loading: it strikes where a load would happen.
    if let Some(fault) = fault_injection
        && changed
    {
        fault(path);
    }
    let started = Instant::now();
    // Changed when looked at, but brought in line meanwhile by the start-up reconcile
    // (which this sync waited for): not a reload of the deployer's.
    let acted = sync_entry(registry, claims, path, writing);
    if changed && acted {
        metrics.observe_reload(started.elapsed());
    }
    *in_progress = None;
}

/// The text of a panic payload, when it has one.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Whether a created entry is a regular file, which a writer will close when done. A
/// directory, symlink, FIFO or socket is complete as soon as it exists.
fn is_regular_file(kind: CreateKind, path: &Path) -> bool {
    match kind {
        CreateKind::Folder => false,
        _ => std::fs::symlink_metadata(path).is_ok_and(|metadata| metadata.is_file()),
    }
}
