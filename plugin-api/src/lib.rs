//! The stable ABI between the Frontdoor host and its plugins, and the SDK plugin authors use.
//!
//! Two halves live here:
//! - [`abi`] and [`manifest`]: the `#[repr(C)]`, layout-checked types that cross the
//!   boundary. Changing them is an API change (see `docs/adr/`).
//! - [`sdk`]: what an author writes against: [`export_adapter!`], [`module_interface!`]
//!   and [`export_shared_module!`], [`Request`], [`Ctx`], [`Response`], [`Json`]. It turns
//!   plain Rust functions into ABI entry points that never unwind into the host.
//!
//! This crate knows nothing of tokio, hyper or the file system: timers and logging come from
//! the host through function tables, because a plugin's own copy of tokio has no runtime.

pub mod abi;
pub mod backend;
pub mod manifest;
mod plain_headers;
pub mod response;
pub mod route;
pub mod routing;
pub mod sdk;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod wake_gate;

pub use abi::{
    ABI_VERSION, ABI_VERSION_INIT, BindingSet, BoundModule, CheckedInterface, HandlerError,
    HandlerErrorKind, HostRequest, HostRequestObj, LogLevel, ModuleCallError, ModuleCallErrorKind,
    ModuleExport, ModuleScope, ModuleTable, PluginHost, PluginHostObj, PluginModule,
    PluginModuleRef, PluginStats,
};
pub use backend::{
    BackendAnswer, BackendAnswer_TO, BackendAnswerObj, BackendError, BackendErrorKind,
    BackendRequest, BackendResponse, OwnedAnswer,
};
pub use manifest::{Manifest, PanicStrategy, PluginKind, Requirement, RouteSpec};
pub use response::{Header, Response};
pub use sdk::{
    Backend, BadRequest, ConfigError, Ctx, Declares, InitCtx, Interface, IntoResponse, Json,
    ModuleError, NoModules, Request, StateError, WarmupCtx, dependency, guarded,
    required_by_interface, required_module,
};

/// Re-exported so the macros resolve them through this crate, and so authors log with the
/// same copy of `tracing` that the SDK forwards to the host.
pub use {abi_stable, async_ffi, serde, serde_json, tracing};
