//! What a listener counts: connections open, accepted and held back at the cap, and every
//! limit that ended a connection or answered a request; `/admin/listener` shows them.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed},
};

use serde::Serialize;

use super::accept_queue;

/// Counters of one listener, shared by its accept loop and its connections.
#[derive(Debug)]
pub struct ListenerStats {
    max_connections: usize,
    /// The listening socket's inode, to find its accept queue in `/proc/net/tcp*`.
    socket_inode: Option<u64>,
    pub(super) open: AtomicUsize,
    pub(super) accepted: AtomicU64,
    pub(super) at_capacity: AtomicBool,
    pub(super) capacity_waits: AtomicU64,
    pub(super) header_timeouts: AtomicU64,
    pub(super) idle_closed: AtomicU64,
    pub(super) heads_too_large: AtomicU64,
    pub(super) body_timeouts: AtomicU64,
    pub(super) bodies_too_large: AtomicU64,
    pub(super) connection_errors: AtomicU64,
}

impl ListenerStats {
    pub(super) fn new(max_connections: usize, socket_inode: Option<u64>) -> Self {
        Self {
            max_connections,
            socket_inode,
            open: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
            at_capacity: AtomicBool::new(false),
            capacity_waits: AtomicU64::new(0),
            header_timeouts: AtomicU64::new(0),
            idle_closed: AtomicU64::new(0),
            heads_too_large: AtomicU64::new(0),
            body_timeouts: AtomicU64::new(0),
            bodies_too_large: AtomicU64::new(0),
            connection_errors: AtomicU64::new(0),
        }
    }

    pub(super) fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// A consistent-enough reading for operators (each counter exact, not a snapshot of all).
    pub fn view(&self) -> ListenerView {
        ListenerView {
            open_connections: self.open.load(Relaxed),
            max_connections: self.max_connections,
            accepting: !self.at_capacity.load(Relaxed),
            waiting_in_accept_queue: self.socket_inode.and_then(accept_queue::length),
            accepted: self.accepted.load(Relaxed),
            capacity_waits: self.capacity_waits.load(Relaxed),
            header_timeouts: self.header_timeouts.load(Relaxed),
            idle_closed: self.idle_closed.load(Relaxed),
            heads_too_large: self.heads_too_large.load(Relaxed),
            body_timeouts: self.body_timeouts.load(Relaxed),
            bodies_too_large: self.bodies_too_large.load(Relaxed),
            connection_errors: self.connection_errors.load(Relaxed),
        }
    }
}

/// One listener as `/admin/listener` shows it.
#[derive(Debug, Serialize)]
pub struct ListenerView {
    pub open_connections: usize,
    pub max_connections: usize,
    /// False while the cap is reached: new connections wait in the kernel's accept queue.
    pub accepting: bool,
    /// Connections the kernel has completed and the host has not accepted yet (Linux;
    /// `null` where it cannot be read).
    pub waiting_in_accept_queue: Option<u64>,
    pub accepted: u64,
    /// Times the accept loop reached the cap and waited for a connection to close.
    pub capacity_waits: u64,
    /// Connections closed because a request head did not arrive in time (slowloris).
    pub header_timeouts: u64,
    /// Connections closed after `idle_timeout` without a request.
    pub idle_closed: u64,
    /// `431` answers: a head over `max_header_bytes`.
    pub heads_too_large: u64,
    /// `408` answers: a body that did not arrive within `body_read_timeout`.
    pub body_timeouts: u64,
    /// `413` answers: a body over `max_body_bytes`.
    pub bodies_too_large: u64,
    /// Connections that ended with a protocol or I/O error (malformed requests included).
    pub connection_errors: u64,
}

/// The host's two listeners, for the admin API.
#[derive(Debug)]
pub struct Listeners {
    pub device: Arc<ListenerStats>,
    pub admin: Arc<ListenerStats>,
}

/// The JSON document of `GET /admin/listener`.
#[derive(Debug, Serialize)]
pub struct ListenersView {
    pub device: ListenerView,
    pub admin: ListenerView,
}

impl Listeners {
    pub fn view(&self) -> ListenersView {
        ListenersView {
            device: self.device.view(),
            admin: self.admin.view(),
        }
    }
}
