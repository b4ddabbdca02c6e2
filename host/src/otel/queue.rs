//! The bounded hand-off between request paths and the exporter task: a request never waits
//! for it. When it is full (the collector is slow or down) the spans are dropped and
//! counted instead.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use serde::Serialize;
use tokio::sync::mpsc;

use super::span::SpanData;

/// The spans of one device request: its own and its backend calls'.
pub type SpanBundle = Vec<SpanData>;

/// What the exporter did, for the admin API and tests.
#[derive(Debug, Default)]
pub struct ExportStats {
    pub queued_spans: AtomicU64,
    pub dropped_spans: AtomicU64,
    pub exported_spans: AtomicU64,
    pub failed_exports: AtomicU64,
}

/// [`ExportStats`] as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExportStatsView {
    pub queued_spans: u64,
    pub dropped_spans: u64,
    pub exported_spans: u64,
    pub failed_exports: u64,
}

impl ExportStats {
    pub fn view(&self) -> ExportStatsView {
        ExportStatsView {
            queued_spans: self.queued_spans.load(Ordering::Relaxed),
            dropped_spans: self.dropped_spans.load(Ordering::Relaxed),
            exported_spans: self.exported_spans.load(Ordering::Relaxed),
            failed_exports: self.failed_exports.load(Ordering::Relaxed),
        }
    }
}

/// The request side of the queue.
#[derive(Clone)]
pub struct SpanQueue {
    sender: mpsc::Sender<SpanBundle>,
    pub stats: Arc<ExportStats>,
}

impl SpanQueue {
    /// A queue holding at most `capacity` requests' spans, and its receiving end.
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<SpanBundle>) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let queue = Self {
            sender,
            stats: Arc::new(ExportStats::default()),
        };
        (queue, receiver)
    }

    /// Hands `spans` to the exporter, or drops and counts them when the queue is full or the
    /// exporter has stopped. Never waits.
    pub fn push(&self, spans: SpanBundle) {
        let count = spans.len() as u64;
        match self.sender.try_send(spans) {
            Ok(()) => {
                self.stats.queued_spans.fetch_add(count, Ordering::Relaxed);
            }
            Err(_) => {
                self.stats.dropped_spans.fetch_add(count, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests;
