//! The author's init hook: `async fn init(ctx: InitCtx) -> Result<State, E>`, declared
//! with `init: init,` in [`crate::export_adapter!`]. The host runs it once per loaded
//! version, before the warm-up and before the version takes any traffic; what it returns
//! is the version's state, read by handlers with [`crate::Ctx::state`].

use std::{fmt::Display, future::Future, time::Duration};

use abi_stable::std_types::{RResult, RStr, RString};
use async_ffi::FfiFuture;
use serde::de::DeserializeOwned;

use super::catch_panic;
use crate::{HandlerError, HostRequestObj, LogLevel, abi::InitFuture};

/// The root module's `init_hook` field as the export macro fills it.
#[doc(hidden)]
pub type InitEntry = Option<extern "C" fn(HostRequestObj, RString) -> InitFuture>;

/// What an init hook may use: the adapter's configuration, backends (bounded by the init's
/// deadline), the host's timer and the log. Shared modules are not reachable: bindings are
/// made when the version is published, after init and warm-up.
pub struct InitCtx {
    host: HostRequestObj,
    config: RString,
}

/// The adapter's configuration did not fit the type asked for; names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where in the table (`cache.ttl_ms`; `.` for the table itself).
    pub path: String,
    pub reason: String,
}

impl Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad config at {}: {}", self.path, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// So an init returning `Result<_, String>` can use `ctx.config::<T>()?`.
impl From<ConfigError> for String {
    fn from(error: ConfigError) -> Self {
        error.to_string()
    }
}

impl InitCtx {
    pub(crate) fn new(host: HostRequestObj, config: RString) -> Self {
        Self { host, config }
    }

    /// The adapter's `[adapters.NAME.config]` table from the host's config file, as `T`.
    /// A table without it reads as an empty table, so a `T` whose fields all have defaults
    /// works without one. The error names the field that did not fit.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        let mut json = serde_json::Deserializer::from_str(self.config.as_str());
        serde_path_to_error::deserialize(&mut json).map_err(|error| ConfigError {
            path: error.path().to_string(),
            reason: error.into_inner().to_string(),
        })
    }

    /// The configuration as the host passed it: JSON text.
    pub fn config_json(&self) -> &str {
        self.config.as_str()
    }

    /// A backend by its configured name. Every call goes through the host's resiliency
    /// layer and ends by the init's deadline.
    pub fn backend<'a>(&'a self, name: &'a str) -> super::Backend<'a> {
        super::Backend::new(&self.host, name)
    }

    /// Logs one line into the host's log, tagged with plugin and version.
    pub fn log(&self, level: LogLevel, message: &str) {
        self.host.log(level, RStr::from(message));
    }

    /// Time left before the host gives up on this init (and leaves the version failed).
    pub fn deadline_remaining(&self) -> Duration {
        Duration::from_millis(self.host.deadline_remaining_ms())
    }

    /// Waits on the host's timer (`tokio::time::sleep` inside a plugin panics).
    pub async fn sleep(&self, duration: Duration) {
        super::entry::sleep(duration).await;
    }
}

/// Runs an author's init behind the ABI: a panic in its synchronous start, in any poll or
/// in its destructor becomes an error value; what it returns is kept as the state.
#[doc(hidden)]
pub fn run<F, Fut, S, E>(init: F, host: HostRequestObj, config: RString) -> InitFuture
where
    F: FnOnce(InitCtx) -> Fut,
    Fut: Future<Output = Result<S, E>> + Send + 'static,
    S: Send + Sync + 'static,
    E: Display,
{
    let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        init(InitCtx::new(host, config))
    }));
    match started {
        Ok(future) => FfiFuture::new(catch_panic::CatchPanic::new(async move {
            match future.await {
                Ok(state) => match super::state::set(state) {
                    Ok(()) => RResult::ROk(()),
                    Err(message) => RResult::RErr(HandlerError::failed(message)),
                },
                Err(error) => RResult::RErr(HandlerError::failed(error.to_string())),
            }
        })),
        Err(payload) => FfiFuture::new(std::future::ready(RResult::RErr(catch_panic::panicked(
            payload,
        )))),
    }
}
