//! Containment: what one plugin version does wrong costs at most that version's requests.
//!
//! The host trades process isolation for in-process speed; this module is the rest of the
//! bargain. Panics are caught by the SDK and by the host (`dispatch`); what remains is
//! measured and acted on here:
//! - [`HandlerBudget`]: a handler gets `handler_timeout`, then the device gets a 504 and the
//!   future is dropped (the SDK guards its destructor).
//! - [`watchdog`]: one thread per process sees, from outside, a poll that holds a worker
//!   thread longer than `max_poll` (a handler that blocks or spins), logs it with
//!   plugin@version and route, and counts it.
//! - [`VersionHealth`]: per-version counts of requests, panics, timeouts and blocked polls
//!   in a sliding window; past a threshold the version is quarantined: it takes no new
//!   requests and the next healthy version takes its traffic.
//! - [`monitor`]: one thread per host samples each loaded copy's heap (the SDK's counting
//!   allocator) and contained panics, warns past `memory_limit_bytes`, and quarantines a
//!   version that keeps growing past it.

pub mod config;
mod health;
pub mod monitor;
pub mod watchdog;
mod watched;

pub use config::{ContainmentConfig, QuarantineConfig};
pub use health::{
    Failure, HealthLimits, HealthView, MemoryVerdict, MemoryView, QuarantineNotice, VersionHealth,
};
pub use watched::{HandlerBudget, Offloaded, Watched};
