//! The plugin side of every ABI entry point. The macros expand to thin `extern "C"` shims
//! that call these functions; each one catches panics so that
//! **a plugin never unwinds into the host.**

use std::{
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::OnceLock,
    time::Duration,
};

use abi_stable::std_types::{ROption, RResult, RString, RVec};
use async_ffi::FfiFuture;

use super::{
    Ctx, IntoResponse, Request, catch_panic, log_forwarding,
    modules::{self, RequiredModule},
};
use crate::{
    HandlerError, HandlerErrorKind, HostRequestObj, LogLevel, Manifest, ModuleExport,
    PanicStrategy, PluginHostObj, PluginKind, PluginStats, Requirement, RouteSpec,
    abi::HandlerFuture, wake_gate::Gated,
};

/// A route's entry point as stored in the macro-generated table.
pub type HandlerFn = fn(HostRequestObj) -> HandlerFuture;

/// The host's services for this loaded copy of the plugin, set once by [`init`].
static HOST: OnceLock<PluginHostObj> = OnceLock::new();

/// Builds the manifest from the macro's constants; `abi_version` is [`crate::ABI_VERSION`], or
/// [`crate::ABI_VERSION_INIT`] for an adapter with an init hook.
pub fn manifest(
    kind: PluginKind,
    name: &str,
    version: &str,
    routes: &[(&str, &str)],
    requires: &[RequiredModule],
    abi_version: u32,
) -> RResult<Manifest, RString> {
    guard("manifest", || Manifest {
        abi_version,
        sdk_version: RString::from(env!("CARGO_PKG_VERSION")),
        name: RString::from(name),
        version: RString::from(version),
        kind,
        routes: routes
            .iter()
            .map(|(method, path)| RouteSpec {
                method: RString::from(*method),
                path: RString::from(*path),
            })
            .collect::<RVec<_>>(),
        requires: requires
            .iter()
            .map(|required| Requirement {
                module: RString::from(required.module()),
                requirement: RString::from(required.requirement()),
                interface: required.interface(),
            })
            .collect::<RVec<_>>(),
        panic_strategy: PanicStrategy::of_this_build(),
    })
}

/// Stores the host's services and routes this copy's `tracing` and panic messages to the
/// host's log, where they would otherwise go to a stderr nobody reads.
pub fn init(host: PluginHostObj, requires: &'static [RequiredModule]) -> RResult<(), RString> {
    let outcome = guard("init", || {
        modules::set_requirements(requires);
        if HOST.set(host).is_err() {
            return Err(RString::from("init called twice"));
        }
        let host = HOST.get().ok_or_else(|| RString::from("host not stored"))?;
        log_forwarding::install(host);
        Ok(())
    });
    match outcome {
        RResult::ROk(result) => result.into(),
        RResult::RErr(error) => RResult::RErr(error),
    }
}

/// Exports a shared module's interface table, built once and then handed out as is.
#[doc(hidden)]
pub fn export(
    cell: &'static OnceLock<ModuleExport>,
    build: impl FnOnce() -> ModuleExport,
) -> ROption<ModuleExport> {
    match guard("export", || *cell.get_or_init(build)) {
        RResult::ROk(export) => ROption::RSome(export),
        RResult::RErr(message) => {
            host_log(LogLevel::Error, "export", message.as_str());
            ROption::RNone
        }
    }
}

/// This copy's health counters (heap, contained panics).
pub fn stats() -> PluginStats {
    match guard("stats", super::stats::snapshot) {
        RResult::ROk(stats) => stats,
        RResult::RErr(_) => PluginStats::default(),
    }
}

/// Follows the host's log level.
pub fn set_log_level(level: LogLevel) {
    let _ = guard("set_log_level", || log_forwarding::set_max_level(level));
}

/// Dispatches to the handler of `route`, turning a synchronous panic into an error future.
pub fn handle(handlers: &[HandlerFn], route: u32, request: HostRequestObj) -> HandlerFuture {
    let Some(handler) = handlers.get(route as usize) else {
        return ready_error(HandlerError::new(
            HandlerErrorKind::UnknownRoute,
            format!("route {route} of {}", handlers.len()),
        ));
    };
    match catch_unwind(AssertUnwindSafe(|| handler(request))) {
        Ok(future) => future,
        Err(payload) => ready_error(catch_panic::panicked(payload)),
    }
}

/// Runs an author's `async fn(Request, Ctx)` behind the ABI: the future is boxed once into
/// an `FfiFuture`, and every poll of it is guarded against panics. It is gated
/// (`wake_gate.rs`): polled only once it woke, and with one waker for its life, so what it
/// awaits keeps that waker instead of cloning async-ffi's new wrapper on each poll.
pub fn run<H, A, Fut, R>(handler: H, request: HostRequestObj) -> HandlerFuture
where
    H: FnOnce(Request, Ctx<A>) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoResponse,
{
    let ctx = Ctx::new(HostRequestObj::from_sabi(request.obj.shallow_clone()));
    let future = handler(Request::new(request), ctx);
    FfiFuture::new(Gated::new(catch_panic::CatchPanic::new(async move {
        future.await.into_response()
    })))
}

/// Waits on the host's timer.
pub(crate) async fn sleep(duration: Duration) {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    match HOST.get() {
        Some(host) => host.sleep(nanos).await,
        // Only reachable if a handler runs before init, which the host never does.
        None => panic!("frontdoor: sleep called before the host initialised the plugin"),
    }
}

/// Logs through the host if it is there (used by the panic hook and the tracing bridge).
pub(crate) fn host_log(level: LogLevel, target: &str, message: &str) {
    if let Some(host) = HOST.get() {
        host.log(level, target.into(), message.into());
    }
}

fn ready_error(error: HandlerError) -> HandlerFuture {
    FfiFuture::new(std::future::ready(RResult::RErr(error)))
}

/// Runs `body`, turning a panic into an error string instead of unwinding across `extern "C"`.
fn guard<T>(entry: &str, body: impl FnOnce() -> T) -> RResult<T, RString> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => RResult::ROk(value),
        Err(payload) => RResult::RErr(RString::from(format!(
            "{entry} panicked: {}",
            catch_panic::panicked(payload).message
        ))),
    }
}
