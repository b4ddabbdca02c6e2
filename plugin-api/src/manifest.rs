//! The manifest every artifact carries: who it is, what it serves, what it needs.

use abi_stable::{
    StableAbi,
    std_types::{RString, RVec},
    type_layout::TypeLayout,
};

/// What kind of plugin an artifact is.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    /// Serves device routes under `/{name}/`.
    Adapter = 1,
    /// Exports an interface other plugins call; serves no routes.
    SharedModule = 2,
}

/// How the plugin's code was compiled to handle a panic (`[profile] panic` in Cargo).
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanicStrategy {
    /// Panics unwind: the SDK's `catch_unwind` guards turn them into error values.
    Unwind = 1,
    /// Panics abort the process: no guard can contain them, so the host refuses the plugin.
    Abort = 2,
}

impl PanicStrategy {
    /// The strategy the crate calling this was compiled with. Cargo applies one panic
    /// strategy to a whole build, so the SDK's answer is the plugin's.
    pub const fn of_this_build() -> Self {
        if cfg!(panic = "unwind") {
            Self::Unwind
        } else {
            Self::Abort
        }
    }
}

/// A plugin's self-description, returned by [`crate::PluginModule::manifest`].
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct Manifest {
    /// [`crate::ABI_VERSION`] of the plugin-api the plugin was built against.
    pub abi_version: u32,
    /// The version of the `frontdoor-plugin-api` crate it was built against (for display).
    pub sdk_version: RString,
    /// The plugin's name: the adapter's namespace `/{name}/`, or the module's name.
    pub name: RString,
    /// Semver version of this build.
    pub version: RString,
    pub kind: PluginKind,
    /// Routes an adapter serves, relative to `/{name}`; their index is the route id.
    pub routes: RVec<RouteSpec>,
    /// Shared modules this plugin needs, by name and semver requirement.
    pub requires: RVec<Requirement>,
    /// How the plugin was compiled to handle panics; only `Unwind` can be contained.
    pub panic_strategy: PanicStrategy,
}

/// One route: an HTTP method and a path pattern with `{param}` segments (`/items/{id}`).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: RString,
    pub path: RString,
}

/// A dependency on a shared module: its name, a semver requirement (`^1.2`, `=1.0.0`), and
/// the layout of the interface the plugin was compiled against, which the bound module's
/// exported interface must be compatible with.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct Requirement {
    pub module: RString,
    pub requirement: RString,
    /// `<InterfaceRef as StableAbi>::LAYOUT` as the consumer sees it.
    pub interface: &'static TypeLayout,
}
