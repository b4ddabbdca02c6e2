//! Routes the plugin's own `tracing` events and panic messages into the host's log.
//!
//! The plugin links its own copy of `tracing`, whose global dispatcher is empty: without
//! this bridge every `tracing::info!` in a plugin is silently dropped. Spans are accepted
//! but not forwarded (the host records its own request span around every call).

use std::{
    fmt::Write as _,
    sync::atomic::{AtomicU8, AtomicU64, Ordering},
};

use tracing::{
    Event, Level, Metadata, Subscriber,
    field::{Field, Visit},
    level_filters::LevelFilter,
    span,
};

use crate::{LogLevel, PluginHostObj};

/// The most verbose level forwarded, as a `LogLevel` discriminant; follows the host's.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Info as u8);

/// Installs the bridge as this plugin copy's global subscriber and its panic hook.
pub(super) fn install(host: &PluginHostObj) {
    MAX_LEVEL.store(host.max_level() as u8, Ordering::Relaxed);
    // Fails only if the author installed their own subscriber first; theirs wins.
    let _ = tracing::subscriber::set_global_default(HostBridge {
        next_span: AtomicU64::new(1),
    });
    std::panic::set_hook(Box::new(|info| {
        super::entry::host_log(LogLevel::Error, "panic", &info.to_string());
    }));
}

/// The host's level changed: forward what it now records, and have `tracing` ask every
/// call site again (it caches each site's interest).
pub(super) fn set_max_level(level: LogLevel) {
    MAX_LEVEL.store(level as u8, Ordering::Relaxed);
    tracing::callsite::rebuild_interest_cache();
}

fn max_level() -> LogLevel {
    match MAX_LEVEL.load(Ordering::Relaxed) {
        1 => LogLevel::Error,
        2 => LogLevel::Warn,
        3 => LogLevel::Info,
        4 => LogLevel::Debug,
        _ => LogLevel::Trace,
    }
}

struct HostBridge {
    next_span: AtomicU64,
}

fn to_log_level(level: &Level) -> LogLevel {
    match *level {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        Level::DEBUG => LogLevel::Debug,
        Level::TRACE => LogLevel::Trace,
    }
}

impl Subscriber for HostBridge {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        to_log_level(metadata.level()) <= max_level()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(match max_level() {
            LogLevel::Error => LevelFilter::ERROR,
            LogLevel::Warn => LevelFilter::WARN,
            LogLevel::Info => LevelFilter::INFO,
            LogLevel::Debug => LevelFilter::DEBUG,
            LogLevel::Trace => LevelFilter::TRACE,
        })
    }

    fn new_span(&self, _span: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _span: &span::Id, _values: &span::Record<'_>) {}

    fn record_follows_from(&self, _span: &span::Id, _follows: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut line = LineWriter::default();
        event.record(&mut line);
        let metadata = event.metadata();
        super::entry::host_log(
            to_log_level(metadata.level()),
            metadata.target(),
            &line.text,
        );
    }

    fn enter(&self, _span: &span::Id) {}

    fn exit(&self, _span: &span::Id) {}
}

/// Formats an event as `message key=value key=value`.
#[derive(Default)]
struct LineWriter {
    text: String,
}

impl Visit for LineWriter {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        if field.name() == "message" {
            let _ = write!(self.text, "{value:?}");
        } else {
            let _ = write!(self.text, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            if !self.text.is_empty() {
                self.text.push(' ');
            }
            self.text.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }
}
