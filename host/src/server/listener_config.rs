//! The limits every listener holds a client to: `[listener]` in `frontdoor.toml`.
//!
//! Each limit bounds what one client can make the host hold: a connection (header read,
//! idle), a request body (time, with `max_body_bytes` bounding its size), memory for a
//! request head, or a share of the host (open connections, HTTP/2 streams).

use std::time::Duration;

use serde::Deserialize;

/// The resolved limits of a listener.
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// From a connection's first byte of a request head (or its opening, for the first
    /// request) to the end of that head; past it the connection is closed without answer.
    pub header_read_timeout: Duration,
    /// Largest request head (request line and header fields, in HTTP/1.1 bytes) answered by
    /// the router; a larger one gets `431` with a JSON body.
    pub max_header_bytes: usize,
    /// Time to receive a whole request body once the handler asks for it; past it `408`.
    pub body_read_timeout: Duration,
    /// A connection with no request in progress for this long is closed (HTTP/1.1) or sent
    /// GOAWAY (HTTP/2).
    pub idle_timeout: Duration,
    /// Connections open at once; past it, new connections wait in the kernel's accept
    /// queue until one closes.
    pub max_connections: usize,
    /// HTTP/2 streams a client may have open at once on one connection.
    pub http2_max_concurrent_streams: u32,
    /// How often an HTTP/2 connection is pinged to detect a dead peer; `None`: never.
    pub http2_keep_alive_interval: Option<Duration>,
    /// How long a ping may go unanswered before the connection is closed.
    pub http2_keep_alive_timeout: Duration,
    /// Largest HTTP/2 header list (HPACK-decoded, 32 bytes counted per field) the
    /// connection accepts at all; larger lists get HTTP/2's own `431` without a body.
    pub http2_max_header_list_size: u32,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 32 * 1024,
            body_read_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            http2_max_concurrent_streams: 100,
            http2_keep_alive_interval: Some(Duration::from_secs(30)),
            http2_keep_alive_timeout: Duration::from_secs(10),
            http2_max_header_list_size: 64 * 1024,
        }
    }
}

impl ListenerConfig {
    /// The HTTP/1.1 read buffer: a head must fit in it whole before the router can answer
    /// it, so a head between `max_header_bytes` and this gets the router's `431` naming its
    /// size, and a larger one hyper's own refusal (made JSON by `refusal.rs`). Four times
    /// the limit bounds the memory a connection can pin while still reading realistic
    /// oversized heads whole.
    pub fn http1_buffer_bytes(&self) -> usize {
        self.max_header_bytes
            .saturating_mul(4)
            .max(MIN_HTTP1_BUFFER)
    }

    /// How often a connection's watchdog looks at it: a quarter of the shorter of the head
    /// and idle timeouts, so each holds to within a quarter of its length.
    pub fn watchdog_tick(&self) -> Duration {
        (self.header_read_timeout.min(self.idle_timeout) / 4).max(Duration::from_millis(1))
    }
}

/// hyper refuses a smaller read buffer.
const MIN_HTTP1_BUFFER: usize = 8192;

/// `[listener]` in `frontdoor.toml`; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerFileConfig {
    pub header_read_timeout_ms: Option<u64>,
    pub max_header_bytes: Option<usize>,
    pub body_read_timeout_ms: Option<u64>,
    pub idle_timeout_ms: Option<u64>,
    pub max_connections: Option<usize>,
    pub http2_max_concurrent_streams: Option<u32>,
    /// `0` turns keep-alive pings off.
    pub http2_keep_alive_interval_ms: Option<u64>,
    pub http2_keep_alive_timeout_ms: Option<u64>,
    pub http2_max_header_list_size: Option<u32>,
}

/// A `[listener]` key with a value the host cannot run with.
#[derive(Debug, thiserror::Error)]
#[error("listener.{key}: {reason}")]
pub struct ListenerConfigError {
    pub key: &'static str,
    pub reason: &'static str,
}

impl ListenerFileConfig {
    /// The defaults overridden by the keys present; refuses values that would disable a
    /// protection by accident (a zero timeout or cap).
    pub fn resolve(self) -> Result<ListenerConfig, ListenerConfigError> {
        let mut config = ListenerConfig::default();
        let positive_ms = |key: &'static str, ms: Option<u64>, into: &mut Duration| {
            match ms {
                Some(0) => {
                    return Err(ListenerConfigError {
                        key,
                        reason: "must be at least 1 ms",
                    });
                }
                Some(ms) => *into = Duration::from_millis(ms),
                None => {}
            }
            Ok(())
        };
        positive_ms(
            "header_read_timeout_ms",
            self.header_read_timeout_ms,
            &mut config.header_read_timeout,
        )?;
        positive_ms(
            "body_read_timeout_ms",
            self.body_read_timeout_ms,
            &mut config.body_read_timeout,
        )?;
        positive_ms(
            "idle_timeout_ms",
            self.idle_timeout_ms,
            &mut config.idle_timeout,
        )?;
        positive_ms(
            "http2_keep_alive_timeout_ms",
            self.http2_keep_alive_timeout_ms,
            &mut config.http2_keep_alive_timeout,
        )?;
        if let Some(bytes) = self.max_header_bytes {
            if bytes < 1024 {
                return Err(ListenerConfigError {
                    key: "max_header_bytes",
                    reason: "must be at least 1024",
                });
            }
            config.max_header_bytes = bytes;
        }
        if let Some(max) = self.max_connections {
            if max == 0 {
                return Err(ListenerConfigError {
                    key: "max_connections",
                    reason: "must be at least 1",
                });
            }
            config.max_connections = max;
        }
        if let Some(streams) = self.http2_max_concurrent_streams {
            if streams == 0 {
                return Err(ListenerConfigError {
                    key: "http2_max_concurrent_streams",
                    reason: "must be at least 1",
                });
            }
            config.http2_max_concurrent_streams = streams;
        }
        if let Some(ms) = self.http2_keep_alive_interval_ms {
            config.http2_keep_alive_interval = (ms > 0).then(|| Duration::from_millis(ms));
        }
        if let Some(size) = self.http2_max_header_list_size {
            config.http2_max_header_list_size = size;
        }
        Ok(config)
    }
}
