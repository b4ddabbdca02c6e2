//! Services the host offers a handler for the duration of one request.

use std::time::Duration;

use abi_stable::std_types::RStr;

use crate::{HostRequestObj, LogLevel};

/// The handler's way to the host: logging tied to the request, timers, and (later) backends
/// and shared modules. Cheap to pass around by reference inside the handler.
pub struct Ctx {
    host: HostRequestObj,
}

impl Ctx {
    pub(crate) fn new(host: HostRequestObj) -> Self {
        Self { host }
    }

    /// A number unique to this request in the host process; the id devices, backends and
    /// logs know it by is its `x-request-id` header.
    pub fn request_id(&self) -> u64 {
        self.host.request_id()
    }

    /// Logs one line into the host's log, tagged with plugin, version and request id.
    /// `tracing::info!` and friends work too; this form attaches the request id.
    pub fn log(&self, level: LogLevel, message: &str) {
        self.host.log(level, RStr::from(message));
    }

    /// The shared module bound to the requirement declared with interface `I` (its handle
    /// type), for this request: a newer version landing mid-request changes neither it nor
    /// the modules it calls in turn.
    pub fn module<I: super::Interface>(&self) -> Result<I, super::ModuleError> {
        super::modules::for_request(&self.host)
    }

    /// A backend by its configured name, for calls bound to this request (its deadline, its
    /// deduplication of identical GETs).
    pub fn backend<'a>(&'a self, name: &'a str) -> super::Backend<'a> {
        super::Backend::new(&self.host, name)
    }

    /// Time left before this request's deadline.
    pub fn deadline_remaining(&self) -> Duration {
        Duration::from_millis(self.host.deadline_remaining_ms())
    }

    /// Waits on the host's timer. `tokio::time::sleep` inside a plugin panics: the plugin's
    /// copy of tokio has no runtime.
    pub async fn sleep(&self, duration: Duration) {
        super::entry::sleep(duration).await;
    }
}
