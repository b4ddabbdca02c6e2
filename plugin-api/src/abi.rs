//! The types that cross the host/plugin boundary: the root module every artifact exports,
//! the host's function tables, and the error a handler returns.
//!
//! Everything here is `#[repr(C)]` + `StableAbi`, so abi_stable can check at load time that
//! host and plugin agree on the layout. The root module and the host tables are prefix types
//! (or `sabi_trait` objects with a `last_prefix_field`): a later minor version may append
//! fields and methods without breaking plugins built against this one.

// abi_stable 0.11's `sabi_trait` expands to impls inside a function body, which current
// rustc reports as `non_local_definitions`; the expansion is sound, the lint is noise.
#![allow(
    non_local_definitions,
    reason = "abi_stable 0.11 sabi_trait expansion trips this lint on current rustc"
)]

use abi_stable::{
    StableAbi, declare_root_module_statics,
    library::RootModule,
    package_version_strings, sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RArc, RBox, ROption, RResult, RSlice, RStr, RString},
};
use async_ffi::FfiFuture;

mod modules;

pub use modules::{
    BindingSet, BoundModule, CheckedInterface, ModuleCallError, ModuleCallErrorKind, ModuleExport,
    ModuleScope, ModuleTable,
};

use crate::{
    backend::{BackendError, BackendRequest, BackendResponse},
    manifest::Manifest,
    response::Response,
};

/// The generation of the Frontdoor ABI this crate speaks, carried in every manifest.
///
/// abi_stable already refuses a root module whose layout or crate version is incompatible;
/// this number lets the host refuse, with a readable reason, a plugin whose *semantics*
/// changed without a layout change (bump it in that case and write an ADR).
pub const ABI_VERSION: u32 = 2;

/// The generation a plugin that declares an init hook carries instead: v2, plus a host that
/// runs `init_hook` before publishing (ADR 0006). A host from before the hook refuses it
/// (`built against Frontdoor ABI v3`) rather than serving handlers whose state was never
/// built; this host accepts both.
pub const ABI_VERSION_INIT: u32 = 3;

/// The root module every artifact exports with `#[export_root_module]`.
///
/// Each function is an `extern "C"` entry point that the SDK wraps in `catch_unwind`:
/// **a plugin never unwinds into the host.**
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// Describes the plugin. Called once, before anything else.
    pub manifest: extern "C" fn() -> RResult<Manifest, RString>,
    /// Hands the plugin the host's services (logging, timers). Called once per loaded copy,
    /// after the manifest checked out and before the first request.
    pub init: extern "C" fn(host: PluginHostObj) -> RResult<(), RString>,
    /// Starts handling one request on `route`, the index of a route in the manifest.
    pub handle: extern "C" fn(route: u32, request: HostRequestObj) -> HandlerFuture,
    /// A shared module's exported interface; `RNone` for adapters.
    pub export: extern "C" fn() -> ROption<ModuleExport>,
    /// This loaded copy's health counters: heap use (from the SDK's counting allocator) and
    /// panics the SDK contained where the host cannot see them (module calls, drops). Cheap;
    /// the host samples it periodically.
    pub stats: extern "C" fn() -> PluginStats,
    /// The host's log level changed: forward only lines at `level` or more severe.
    #[sabi(last_prefix_field)]
    pub set_log_level: extern "C" fn(level: LogLevel),
    /// Warms a new version up before it takes traffic (caches, backend pools): the host
    /// calls it once, after `init`, with a request object that reaches backends, timers
    /// and the log, and publishes the version only if it returns `ROk` within the host's
    /// warm-up timeout. `None`: nothing to warm.
    ///
    /// Appended after the last prefix field (ADR 0005): a plugin built before it existed
    /// has no such field, and the accessor then reads `None` (`missing_field(default)`), so
    /// it still loads.
    #[sabi(missing_field(default))]
    pub warmup: Option<extern "C" fn(ctx: HostRequestObj) -> WarmupFuture>,
    /// The author's init hook (`init:` in `export_adapter!`): builds what the version's
    /// handlers share (clients, parsed configuration, a warmed cache) from `config`, the
    /// adapter's `[adapters.NAME.config]` table as JSON text (`{}` when there is none). The
    /// host calls it once per loaded copy, after `init` and before `warmup`, with a request
    /// object that reaches backends, timers and the log, and publishes the version only if
    /// it returns `ROk` within the host's init timeout. `None`: nothing to build.
    ///
    /// Appended after `warmup` like it (ADR 0006): plugins built before it read `None`.
    #[sabi(missing_field(default))]
    pub init_hook: Option<extern "C" fn(ctx: HostRequestObj, config: RString) -> InitFuture>,
}

/// What [`PluginModule::stats`] reports about one loaded copy of a plugin.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PluginStats {
    /// Heap bytes this copy has allocated and not freed.
    pub live_bytes: u64,
    /// The highest `live_bytes` seen by a `stats` call so far.
    pub peak_bytes: u64,
    /// Allocations made since load (their rate is the host's difference of two samples).
    pub allocations: u64,
    /// Bytes allocated since load.
    pub allocated_bytes: u64,
    /// Panics caught at this copy's shared-module boundary.
    pub module_panics: u64,
    /// Panics caught while dropping this copy's values (a handler future the host dropped).
    pub drop_panics: u64,
}

/// What [`PluginModule::handle`] returns: a future the host polls on its own runtime.
pub type HandlerFuture = FfiFuture<RResult<Response, HandlerError>>;

/// What [`PluginModule::warmup`] returns: `ROk` when the version is ready for traffic.
pub type WarmupFuture = FfiFuture<RResult<(), HandlerError>>;

/// What [`PluginModule::init_hook`] returns: `ROk` once the version's state is built.
pub type InitFuture = FfiFuture<RResult<(), HandlerError>>;

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "frontdoor_plugin";
    const NAME: &'static str = "frontdoor_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// Severity of a log line a plugin forwards to the host.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

/// Services the host gives a plugin once, at load: one object per loaded copy, so the host
/// knows which plugin and version is speaking.
#[sabi_trait]
pub trait PluginHost: Send + Sync {
    /// Forwards one log line into the host's `tracing`, tagged with the plugin's identity.
    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>);

    /// The most verbose level the host will record, so plugins skip formatting the rest.
    fn max_level(&self) -> LogLevel;

    /// A timer on the host's runtime (a plugin's own tokio has no reactor).
    #[sabi(last_prefix_field)]
    fn sleep(&self, nanos: u64) -> FfiFuture<()>;
}

/// The host's services as a boxed, FFI-safe trait object.
pub type PluginHostObj = PluginHost_TO<'static, RBox<()>>;

/// One device request as the host holds it, and the services scoped to it.
///
/// The plugin pulls what it needs instead of receiving a copy of everything: a handler that
/// never reads a header costs no allocation for headers. Strings borrow from the host's
/// request, which lives as long as any handle to this object.
#[sabi_trait]
pub trait HostRequest: Send + Sync {
    /// The HTTP method, upper case (`GET`, `POST`, ...).
    fn method(&self) -> RStr<'_>;

    /// The path below the adapter's namespace, starting with `/` (`/home` for `/tv/home`).
    fn path(&self) -> RStr<'_>;

    /// The raw query string without `?`, empty when absent.
    fn query(&self) -> RStr<'_>;

    /// A path parameter captured by a `{name}` segment of the route, percent-decoded.
    fn param(&self, name: RStr<'_>) -> ROption<RStr<'_>>;

    /// The first value of a header (case-insensitive name), if present and valid UTF-8.
    fn header(&self, name: RStr<'_>) -> ROption<RStr<'_>>;

    /// The number of header fields, for iteration with [`HostRequest::header_at`].
    fn header_count(&self) -> usize;

    /// The header field at `index` as `(name, value)`; the value is empty if not UTF-8.
    fn header_at(&self, index: usize)
    -> ROption<abi_stable::std_types::Tuple2<RStr<'_>, RStr<'_>>>;

    /// The request body, already read and bounded by the host's body limit.
    fn body(&self) -> RSlice<'_, u8>;

    /// A number for this request, unique in the host process. The request's id as devices,
    /// backends and log lines know it is its `x-request-id` header.
    fn request_id(&self) -> u64;

    /// Logs a line attached to this request.
    fn log(&self, level: LogLevel, message: RStr<'_>);

    /// The shared module bound to requirement `index` (manifest order) for this request,
    /// with its own bindings at every depth. They are fixed for the request's whole life,
    /// even if a newer version lands.
    fn module(&self, index: u32) -> ROption<&BoundModule>;

    /// Calls a backend through the host's resiliency layer (timeout, bulkhead, circuit
    /// breaker, retries, per-request deduplication of GETs, the request's deadline).
    fn backend(&self, request: BackendRequest)
    -> FfiFuture<RResult<BackendResponse, BackendError>>;

    /// Milliseconds left before this request's deadline (0 when it has passed).
    #[sabi(last_prefix_field)]
    fn deadline_remaining_ms(&self) -> u64;
}

/// A request handle shared between the SDK's [`crate::Request`] and [`crate::Ctx`].
pub type HostRequestObj = HostRequest_TO<'static, RArc<()>>;

/// Why a handler did not produce a response.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerErrorKind {
    /// The handler panicked; the SDK caught it at the boundary.
    Panicked = 1,
    /// The handler returned an error.
    Failed = 2,
    /// The host asked for a route index the plugin does not have.
    UnknownRoute = 3,
}

/// A handler's failure: the host answers 500 and logs `message` (never sent to the device).
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct HandlerError {
    pub kind: HandlerErrorKind,
    pub message: RString,
}

impl HandlerError {
    pub fn new(kind: HandlerErrorKind, message: impl Into<RString>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn failed(message: impl Into<RString>) -> Self {
        Self::new(HandlerErrorKind::Failed, message)
    }
}

impl std::fmt::Display for HandlerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            HandlerErrorKind::Panicked => "handler panicked",
            HandlerErrorKind::Failed => "handler failed",
            HandlerErrorKind::UnknownRoute => "unknown route index",
        };
        write!(f, "{kind}: {}", self.message)
    }
}
