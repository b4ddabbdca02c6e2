//! The per-host monitor thread: samples every loaded copy's heap and contained panics,
//! enforces the soft memory limit, and republishes when a version is quarantined.
//!
//! It calls into plugins (their `stats` entry point, guarded by the SDK) only from its own
//! thread and never under the registry's lock.

use std::{
    sync::Arc,
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::{MemoryVerdict, QuarantineNotice};
use crate::registry::{Handler, Registry};

/// What the monitor is told.
pub enum MonitorMessage {
    Quarantined(QuarantineNotice),
    Stop,
}

/// The running monitor; [`Monitor::stop`] ends it.
pub struct Monitor {
    messages: Sender<MonitorMessage>,
    thread: Option<JoinHandle<()>>,
}

/// The channel versions report quarantines on; create it before the registry, which hands
/// the sending side to every version it loads.
pub fn channel() -> (Sender<MonitorMessage>, Receiver<MonitorMessage>) {
    crossbeam_channel::unbounded()
}

impl Monitor {
    /// Starts sampling `registry` every `every`.
    pub fn start(
        registry: Arc<Registry>,
        every: Duration,
        messages: Sender<MonitorMessage>,
        inbox: Receiver<MonitorMessage>,
    ) -> std::io::Result<Self> {
        let thread = std::thread::Builder::new()
            .name("frontdoor-monitor".into())
            .spawn(move || run(&registry, every, &inbox))?;
        Ok(Self {
            messages,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        let _ = self.messages.send(MonitorMessage::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(registry: &Registry, every: Duration, inbox: &Receiver<MonitorMessage>) {
    let mut next_sample = Instant::now();
    loop {
        match inbox.recv_timeout(next_sample.saturating_duration_since(Instant::now())) {
            Ok(MonitorMessage::Quarantined(notice)) => {
                tracing::debug!(plugin = %notice.label, "republishing after a quarantine");
                registry.republish();
            }
            Ok(MonitorMessage::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        if Instant::now() >= next_sample {
            sample(registry);
            next_sample = Instant::now() + every;
        }
    }
}

/// Reads every loaded copy's counters once.
pub fn sample(registry: &Registry) {
    let now = Instant::now();
    for version in registry.loaded_versions() {
        let Handler::Plugin(module) = &version.handler else {
            continue;
        };
        let stats = (module.stats())();
        let health = version.health;
        // Counted from load for the first sample.
        let before = health
            .last_stats()
            .map_or(0, |previous| previous.module_panics + previous.drop_panics);
        let contained = (stats.module_panics + stats.drop_panics).saturating_sub(before);
        if contained > 0 && !version.is_removed() {
            health.record_panics(contained);
        }
        match health.observe_memory(stats, now) {
            MemoryVerdict::OverLimit => tracing::warn!(
                plugin = %health.label,
                live_bytes = stats.live_bytes,
                limit_bytes = health.memory_limit(),
                "plugin heap is over its soft limit; it is quarantined if it keeps growing"
            ),
            MemoryVerdict::StillGrowing if !version.is_removed() => health.quarantine(format!(
                "its heap kept growing past its {} byte limit ({} bytes live)",
                health.memory_limit(),
                stats.live_bytes
            )),
            _ => {}
        }
    }
}
