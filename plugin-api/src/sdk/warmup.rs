//! The author's side of warm-up: `async fn warmup(ctx: WarmupCtx) -> Result<(), String>`,
//! declared with `warmup: warmup,` in [`crate::export_adapter!`], run by the host once per
//! new version before that version takes any traffic.

use std::{future::Future, time::Duration};

use abi_stable::std_types::{RResult, RStr};
use async_ffi::FfiFuture;

use super::catch_panic;
use crate::{HandlerError, HostRequestObj, LogLevel, abi::WarmupFuture};

/// The root module's `warmup` field as the export macros fill it.
#[doc(hidden)]
pub type WarmupEntry = Option<extern "C" fn(HostRequestObj) -> WarmupFuture>;

/// What a warm-up may use: backends (bounded by the warm-up's deadline), the host's timer
/// and the log. Shared modules are not reachable: a version's bindings are fixed at the
/// publication that follows a successful warm-up, so none exist yet.
pub struct WarmupCtx {
    host: HostRequestObj,
}

impl WarmupCtx {
    pub(crate) fn new(host: HostRequestObj) -> Self {
        Self { host }
    }

    /// A backend by its configured name. Every call goes through the host's resiliency
    /// layer and ends by the warm-up's deadline.
    pub fn backend<'a>(&'a self, name: &'a str) -> super::Backend<'a> {
        super::Backend::new(&self.host, name)
    }

    /// Logs one line into the host's log, tagged with plugin and version.
    pub fn log(&self, level: LogLevel, message: &str) {
        self.host.log(level, RStr::from(message));
    }

    /// Time left before the host gives up on this warm-up (and leaves the version failed).
    pub fn deadline_remaining(&self) -> Duration {
        Duration::from_millis(self.host.deadline_remaining_ms())
    }

    /// What the adapter's `init:` hook built (it runs before the warm-up), as `S`.
    pub fn state<S: Send + Sync + 'static>(&self) -> Result<&'static S, super::StateError> {
        super::state::get()
    }

    /// Waits on the host's timer (`tokio::time::sleep` inside a plugin panics).
    pub async fn sleep(&self, duration: Duration) {
        super::entry::sleep(duration).await;
    }
}

/// Runs an author's `async fn(WarmupCtx) -> Result<(), String>` behind the ABI: a panic in
/// its synchronous start, in any poll or in its destructor becomes an error value.
#[doc(hidden)]
pub fn run<W, Fut>(warmup: W, host: HostRequestObj) -> WarmupFuture
where
    W: FnOnce(WarmupCtx) -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        warmup(WarmupCtx::new(host))
    }));
    match started {
        Ok(future) => FfiFuture::new(catch_panic::CatchPanic::new(async move {
            match future.await {
                Ok(()) => RResult::ROk(()),
                Err(message) => RResult::RErr(HandlerError::failed(message)),
            }
        })),
        Err(payload) => FfiFuture::new(std::future::ready(RResult::RErr(catch_panic::panicked(
            payload,
        )))),
    }
}
