//! An adapter as `export_adapter!` declares it, as plain data: its name, version, routes
//! with their handlers, requirements and warm-up. The macro generates a hidden
//! `__frontdoor_adapter()` returning one, which the test kit (`testkit` feature) uses to
//! run the adapter's handlers in-process, routed exactly as the host routes them. The host
//! never reads it: it loads the root module.

use crate::{HostRequestObj, abi::WarmupFuture};

use super::{entry::HandlerFn, modules::RequiredModule};

/// One declared route: method, path pattern and the handler's entry point.
#[derive(Clone, Copy)]
pub struct RouteEntry {
    pub method: &'static str,
    pub path: &'static str,
    pub handler: HandlerFn,
}

/// What an adapter declared in `export_adapter!`.
#[derive(Clone, Copy)]
pub struct AdapterDefinition {
    pub name: &'static str,
    pub version: &'static str,
    /// In declaration order: the index is the route's id, as in the manifest.
    pub routes: &'static [RouteEntry],
    /// The shared modules it requires, in manifest order.
    pub requires: &'static [RequiredModule],
    pub warmup: Option<fn(HostRequestObj) -> WarmupFuture>,
}
