//! The host's side of the function tables a plugin calls: logging, timers, and the device
//! request it reads from.
//!
//! These run inside `sabi_trait` shims, where a panic would end the process, and on any
//! thread a plugin chooses (its own threads included): every method runs under
//! [`contained`], and whatever needs the runtime (timers, backend I/O) enters the host's
//! runtime explicitly instead of relying on the calling thread's context.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{Arc, OnceLock},
    time::Duration,
};

use abi_stable::std_types::{RArc, ROption, RResult, RSlice, RStr, Tuple2};
use async_ffi::{FfiFuture, FutureExt as _};
use bytes::Bytes;
use frontdoor_plugin_api::{
    BackendError, BackendErrorKind, BackendRequest, BackendResponse, BindingSet, BoundModule,
    HostRequest, LogLevel, PluginHost,
};
use futures_util::FutureExt as _;
use tokio::{runtime::Handle, time::Instant};

use super::in_runtime::InRuntime;
use crate::{
    backends::{Backends, RequestScope},
    requests::{CallOrigin, RequestId, current},
};
use frontdoor_plugin_api::wake_gate::Gated;
use hyper::{HeaderMap, Method, Uri};
use tracing::level_filters::LevelFilter;

/// Who a plugin is, for log lines and response headers.
#[derive(Debug)]
pub struct PluginIdentity {
    pub name: String,
    pub version: semver::Version,
    /// `name@version`, the form shown in `x-frontdoor-adapter` and the log.
    pub label: String,
}

impl PluginIdentity {
    pub fn new(name: &str, version: &semver::Version) -> Self {
        Self {
            name: name.to_owned(),
            version: version.clone(),
            label: format!("{name}@{version}"),
        }
    }
}

/// The services object handed to one loaded copy of a plugin at `init`.
pub(super) struct HostServices {
    identity: Arc<PluginIdentity>,
    /// `None` in the load probe, which has no runtime and runs no handler.
    runtime: Option<Handle>,
}

impl HostServices {
    pub(super) fn new(identity: Arc<PluginIdentity>, runtime: Option<Handle>) -> Self {
        Self { identity, runtime }
    }
}

impl PluginHost for HostServices {
    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>) {
        contained(
            "log",
            || (),
            || {
                // No request in the call: the one whose future this thread polls, if any.
                emit(
                    level,
                    &self.identity.label,
                    target.as_str(),
                    current::current(),
                    message.as_str(),
                );
            },
        );
    }

    fn max_level(&self) -> LogLevel {
        contained("max_level", || LogLevel::Info, host_max_level)
    }

    fn sleep(&self, nanos: u64) -> FfiFuture<()> {
        contained(
            "sleep",
            || std::future::ready(()).into_ffi(),
            || {
                let Some(runtime) = &self.runtime else {
                    // No runtime (the load probe): a timer there would panic; end at once.
                    return std::future::ready(()).into_ffi();
                };
                // A plugin may wait from a thread of its own: the timer is made, and polled,
                // inside the host's runtime, whichever thread this is.
                let _entered = runtime.enter();
                InRuntime::new(
                    runtime.clone(),
                    tokio::time::sleep(Duration::from_nanos(nanos)),
                )
                .into_ffi()
            },
        )
    }
}

/// The host's log level as a plugin's: the most verbose level the host records now.
pub fn host_max_level() -> LogLevel {
    match LevelFilter::current() {
        LevelFilter::OFF | LevelFilter::ERROR => LogLevel::Error,
        LevelFilter::WARN => LogLevel::Warn,
        LevelFilter::INFO => LogLevel::Info,
        LevelFilter::DEBUG => LogLevel::Debug,
        _ => LogLevel::Trace,
    }
}

/// Runs host code a plugin called. It runs inside an `extern "C"` shim, where an unwinding
/// panic ends the process, so a panic (a bug of the host's, or a runtime that is shutting
/// down) becomes `fallback`'s value and a log line instead. The fallback is made only then:
/// made up front, a backend call's (an error and a boxed future) cost two allocations per
/// call for nothing.
fn contained<T>(
    service: &'static str,
    fallback: impl FnOnce() -> T,
    body: impl FnOnce() -> T,
) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(_) => {
            tracing::error!(
                service,
                "a host service called by a plugin panicked; the plugin got a neutral answer"
            );
            fallback()
        }
    }
}

/// One device request as a plugin sees it through [`HostRequest`].
pub struct DeviceRequest {
    pub method: Method,
    pub uri: Uri,
    /// Where the path below the adapter's namespace starts in `uri.path()` (after `/tv`).
    pub path_offset: usize,
    pub headers: HeaderMap,
    /// Read against the path below the namespace ([`DeviceRequest::path_below_namespace`]),
    /// the path they were matched in: values without escapes are not copied.
    pub params: crate::router::Params,
    pub body: Bytes,
    /// The ABI's number for the request (`HostRequest::request_id`), unique in this process.
    pub request_id: u64,
    /// The request's id (`x-request-id`), start and trace, inherited by its backend calls.
    pub origin: CallOrigin,
    pub identity: Arc<PluginIdentity>,
    /// The shared modules bound to the adapter's requirements for this request, each with
    /// its own bindings at every depth.
    pub modules: RArc<BindingSet>,
    pub backends: Arc<Backends>,
    /// When the request's time is up; bounds every backend call it makes.
    pub deadline: Instant,
    /// Created on the first backend call only: most requests of most adapters make none.
    pub scope: OnceLock<Arc<RequestScope>>,
    /// A mirrored copy served by a shadow version: its backend calls are real, and counted
    /// apart, under `{adapter} (shadow)`.
    pub shadow: bool,
    /// The device sent no `x-request-id`, and the host did not add one to `headers` (an
    /// insert per request, for the few plugins that read it): the plugin still reads the
    /// request's id under that name, last of the headers, from `origin.header`.
    pub id_header_virtual: bool,
}

impl DeviceRequest {
    /// `x-request-id` and its value when it is not in `headers` (`id_header_virtual`).
    fn virtual_id_header(&self) -> Option<(&'static str, &hyper::header::HeaderValue)> {
        self.id_header_virtual
            .then_some((crate::requests::HEADER_NAME, &self.origin.header))
    }

    /// The path below the adapter's namespace, as routed: `/tv/home` → `/home`; `/tv` → `/`.
    pub fn path_below_namespace(&self) -> &str {
        let path = self.uri.path().get(self.path_offset..).unwrap_or("");
        if path.is_empty() { "/" } else { path }
    }
}

impl HostRequest for DeviceRequest {
    fn method(&self) -> RStr<'_> {
        contained(
            "method",
            || RStr::from(""),
            || RStr::from(self.method.as_str()),
        )
    }

    fn path(&self) -> RStr<'_> {
        contained(
            "path",
            || RStr::from("/"),
            || RStr::from(self.path_below_namespace()),
        )
    }

    fn query(&self) -> RStr<'_> {
        contained(
            "query",
            || RStr::from(""),
            || RStr::from(self.uri.query().unwrap_or("")),
        )
    }

    fn param(&self, name: RStr<'_>) -> ROption<RStr<'_>> {
        contained(
            "param",
            || ROption::RNone,
            || {
                self.params
                    .get(self.path_below_namespace(), name.as_str())
                    .map(RStr::from)
                    .into()
            },
        )
    }

    fn header(&self, name: RStr<'_>) -> ROption<RStr<'_>> {
        contained(
            "header",
            || ROption::RNone,
            || {
                let value = match self.virtual_id_header() {
                    Some((id_name, value)) if name.as_str().eq_ignore_ascii_case(id_name) => {
                        Some(value)
                    }
                    _ => self.headers.get(name.as_str()),
                };
                value
                    .and_then(|value| value.to_str().ok())
                    .map(RStr::from)
                    .into()
            },
        )
    }

    fn header_count(&self) -> usize {
        contained(
            "header_count",
            || 0,
            || self.headers.len() + usize::from(self.id_header_virtual),
        )
    }

    fn header_at(&self, index: usize) -> ROption<Tuple2<RStr<'_>, RStr<'_>>> {
        contained(
            "header_at",
            || ROption::RNone,
            || {
                self.headers
                    .iter()
                    .map(|(name, value)| (name.as_str(), value))
                    .chain(self.virtual_id_header())
                    .nth(index)
                    .map(|(name, value)| {
                        Tuple2(RStr::from(name), RStr::from(value.to_str().unwrap_or("")))
                    })
                    .into()
            },
        )
    }

    fn body(&self) -> RSlice<'_, u8> {
        contained(
            "body",
            || RSlice::from(&[][..]),
            || RSlice::from(&self.body[..]),
        )
    }

    fn request_id(&self) -> u64 {
        self.request_id
    }

    fn log(&self, level: LogLevel, message: RStr<'_>) {
        contained(
            "request log",
            || (),
            || {
                emit(
                    level,
                    &self.identity.label,
                    "request",
                    Some(self.origin.request_id),
                    message.as_str(),
                );
            },
        );
    }

    fn module(&self, index: u32) -> ROption<&BoundModule> {
        contained(
            "module",
            || ROption::RNone,
            || {
                usize::try_from(index)
                    .ok()
                    .and_then(|index| self.modules.get(index))
                    .into()
            },
        )
    }

    fn backend(
        &self,
        request: BackendRequest,
    ) -> FfiFuture<RResult<BackendResponse, BackendError>> {
        let refused = || {
            std::future::ready(RResult::RErr(BackendError::new(
                BackendErrorKind::Invalid,
                "the host could not start this backend call",
            )))
            .into_ffi()
        };
        contained("backend", refused, || {
            let scope = self
                .scope
                .get_or_init(|| {
                    let adapter = if self.shadow {
                        std::borrow::Cow::Owned(format!("{} (shadow)", self.identity.name))
                    } else {
                        std::borrow::Cow::Borrowed(self.identity.name.as_str())
                    };
                    Arc::new(
                        RequestScope::new(&adapter, self.deadline).with_origin(self.origin.clone()),
                    )
                })
                .clone();
            // Mapped, not awaited in an `async` block, which would keep the call's future
            // twice (captured, and moved into its await): this future is boxed whole for
            // the plugin on every call.
            let call = self.backends.call(&scope, request).map(RResult::from);
            // The call is gated (`wake_gate.rs`); gated again out here, so a call that did
            // not wake costs no runtime entry, and the plugin's ever-new FFI waker is cloned
            // once per poll, by this gate only.
            match self.backends.runtime() {
                // The call may be polled from a plugin's own thread: the HTTP client spawns
                // its connection tasks on the runtime it finds current.
                Some(runtime) => Gated::new(InRuntime::new(runtime.clone(), call)).into_ffi(),
                None => Gated::new(call).into_ffi(),
            }
        })
    }

    fn deadline_remaining_ms(&self) -> u64 {
        contained(
            "deadline_remaining_ms",
            || 0,
            || {
                let remaining = self.deadline.saturating_duration_since(Instant::now());
                u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX)
            },
        )
    }
}

/// Writes one plugin log line into the host's `tracing`, tagged with the plugin's identity.
fn emit(level: LogLevel, plugin: &str, target: &str, request_id: Option<RequestId>, message: &str) {
    macro_rules! at {
        ($level:expr) => {
            match request_id {
                Some(id) => tracing::event!(target: "plugin", $level, plugin, plugin_target = target, request_id = %id, "{message}"),
                None => tracing::event!(target: "plugin", $level, plugin, plugin_target = target, "{message}"),
            }
        };
    }
    match level {
        LogLevel::Error => at!(tracing::Level::ERROR),
        LogLevel::Warn => at!(tracing::Level::WARN),
        LogLevel::Info => at!(tracing::Level::INFO),
        LogLevel::Debug => at!(tracing::Level::DEBUG),
        LogLevel::Trace => at!(tracing::Level::TRACE),
    }
}

#[cfg(test)]
mod tests;
