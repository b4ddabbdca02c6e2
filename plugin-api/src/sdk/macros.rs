//! `export_adapter!`: declares an adapter, its routes and handlers, and exports the root
//! module the host loads.
//!
//! The exported static mirrors what abi_stable's `#[export_root_module]` generates, spelled
//! with `$crate::abi_stable` paths so plugin crates need only this crate as a dependency.
//! A unit test keeps the symbol name equal to `abi_stable::library::ROOT_MODULE_LOADER_NAME`.

/// Declares an adapter plugin.
///
/// ```no_run
/// use frontdoor_plugin_api::{Ctx, Json, Request, Response, serde_json::json};
///
/// frontdoor_plugin_api::export_adapter! {
///     routes: {
///         GET "/hello" => hello,
///         GET "/items/{id}" => item,
///     }
/// }
///
/// async fn hello(_req: Request, _ctx: Ctx) -> Json<serde_json::Value> {
///     Json(json!({ "ok": true }))
/// }
///
/// async fn item(req: Request, _ctx: Ctx) -> Response {
///     Response::json(&json!({ "id": req.param("id") }))
/// }
/// # fn main() {}
/// ```
///
/// Name and version default to the crate's (`CARGO_PKG_NAME`, `CARGO_PKG_VERSION`), which is
/// what `cargo xtask build-plugin` names the artifact after; override them with
/// `name: "...", version: "...",` before `routes`. Shared modules the adapter calls are
/// declared before `routes` as `requires: { "artwork" "^1.1" => artwork_api::v1::ArtworkV1Ref }`
/// and reached in a handler with `ctx.module::<ArtworkV1Ref>()`.
#[macro_export]
macro_rules! export_adapter {
    (
        $(name: $name:expr,)?
        $(version: $version:expr,)?
        $(requires: { $($module:tt $requirement:tt => $interface:ty),* $(,)? },)?
        routes: { $($method:ident $path:literal => $handler:path),* $(,)? } $(,)?
    ) => {
        const _: () = {
            use $crate::abi_stable::std_types::{ROption, RResult, RString};

            const __FRONTDOOR_ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];
            const __FRONTDOOR_HANDLERS: &[$crate::sdk::entry::HandlerFn] =
                &[$(|request| $crate::sdk::entry::run($handler, request)),*];
            const __FRONTDOOR_REQUIRES: &[$crate::sdk::modules::RequiredModule] = &[
                $($($crate::sdk::modules::required_module::<$interface>($module, $requirement)),*)?
            ];

            extern "C" fn __frontdoor_manifest() -> RResult<$crate::Manifest, RString> {
                $crate::sdk::entry::manifest(
                    $crate::PluginKind::Adapter,
                    $crate::__first!($($name,)? env!("CARGO_PKG_NAME")),
                    $crate::__first!($($version,)? env!("CARGO_PKG_VERSION")),
                    __FRONTDOOR_ROUTES,
                    __FRONTDOOR_REQUIRES,
                )
            }


            extern "C" fn __frontdoor_handle(route: u32, request: $crate::HostRequestObj) -> $crate::abi::HandlerFuture {
                $crate::sdk::entry::handle(__FRONTDOOR_HANDLERS, route, request)
            }

            extern "C" fn __frontdoor_export() -> ROption<$crate::ModuleExport> {
                ROption::RNone
            }

            $crate::__export_plugin!(__FRONTDOOR_REQUIRES, __frontdoor_manifest, __frontdoor_handle, __frontdoor_export);
        };
    };
}

/// Declares a shared module: the interface it exports (the `PrefixRef` type of an
/// abi_stable prefix struct, from an interface crate) and the expression that builds its
/// table, plus the modules it requires itself.
///
/// ```no_run
/// use frontdoor_plugin_api::{
///     ModuleCallError, guarded,
///     abi_stable::{StableAbi, prefix_type::PrefixTypeTrait, std_types::{RResult, RString}},
/// };
///
/// // Normally in the interface crate:
/// #[repr(C)]
/// #[derive(StableAbi)]
/// #[sabi(kind(Prefix(prefix_ref = GreeterRef)))]
/// pub struct Greeter {
///     #[sabi(last_prefix_field)]
///     pub greet: extern "C" fn(name: RString) -> RResult<RString, ModuleCallError>,
/// }
///
/// extern "C" fn greet(name: RString) -> RResult<RString, ModuleCallError> {
///     guarded(|| RString::from(format!("hello, {name}")))
/// }
///
/// frontdoor_plugin_api::export_shared_module! {
///     interface: GreeterRef => Greeter { greet }.leak_into_prefix(),
/// }
/// # fn main() {}
/// ```
///
/// Interface functions return `RResult<_, ModuleCallError>` and wrap their bodies in
/// [`crate::guarded`]: a panic must not unwind out of a module into its caller.
#[macro_export]
macro_rules! export_shared_module {
    (
        $(name: $name:expr,)?
        $(version: $version:expr,)?
        $(requires: { $($module:tt $requirement:tt => $interface:ty),* $(,)? },)?
        interface: $exported:ty => $build:expr $(,)?
    ) => {
        const _: () = {
            use $crate::abi_stable::std_types::{ROption, RResult, RString};

            const __FRONTDOOR_REQUIRES: &[$crate::sdk::modules::RequiredModule] = &[
                $($($crate::sdk::modules::required_module::<$interface>($module, $requirement)),*)?
            ];

            extern "C" fn __frontdoor_manifest() -> RResult<$crate::Manifest, RString> {
                $crate::sdk::entry::manifest(
                    $crate::PluginKind::SharedModule,
                    $crate::__first!($($name,)? env!("CARGO_PKG_NAME")),
                    $crate::__first!($($version,)? env!("CARGO_PKG_VERSION")),
                    &[],
                    __FRONTDOOR_REQUIRES,
                )
            }


            extern "C" fn __frontdoor_handle(route: u32, request: $crate::HostRequestObj) -> $crate::abi::HandlerFuture {
                $crate::sdk::entry::handle(&[], route, request)
            }

            extern "C" fn __frontdoor_export() -> ROption<$crate::ModuleExport> {
                static __FRONTDOOR_TABLE: ::std::sync::OnceLock<$crate::ModuleExport> = ::std::sync::OnceLock::new();
                $crate::sdk::entry::export::<$exported>(&__FRONTDOOR_TABLE, || $build)
            }

            $crate::__export_plugin!(__FRONTDOOR_REQUIRES, __frontdoor_manifest, __frontdoor_handle, __frontdoor_export);
        };
    };
}

/// The entry points every plugin shares (`init` with its requirements, `bind`), and the
/// export of the root module.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_plugin {
    ($requires:ident, $manifest:ident, $handle:ident, $export:ident) => {
        extern "C" fn __frontdoor_init(
            host: $crate::PluginHostObj,
        ) -> $crate::abi_stable::std_types::RResult<(), $crate::abi_stable::std_types::RString> {
            $crate::sdk::entry::init(host, $requires)
        }

        extern "C" fn __frontdoor_bind(
            bindings: $crate::abi_stable::std_types::RVec<$crate::ModuleTable>,
        ) {
            $crate::sdk::entry::bind(bindings)
        }

        extern "C" fn __frontdoor_stats() -> $crate::PluginStats {
            $crate::sdk::entry::stats()
        }

        extern "C" fn __frontdoor_set_log_level(level: $crate::LogLevel) {
            $crate::sdk::entry::set_log_level(level)
        }

        // Meters this plugin copy's heap for the host (per-version memory in the admin API,
        // soft limits). A plugin that declares its own global allocator does not compile:
        // there is one per artifact.
        #[global_allocator]
        static __FRONTDOOR_ALLOCATOR: $crate::sdk::counting_alloc::CountingAllocator =
            $crate::sdk::counting_alloc::CountingAllocator;

        $crate::__export_root_module!(
            $manifest,
            __frontdoor_init,
            $handle,
            $export,
            __frontdoor_bind,
            __frontdoor_stats,
            __frontdoor_set_log_level
        );
    };
}

/// The first of its arguments: how the macros default optional settings.
#[doc(hidden)]
#[macro_export]
macro_rules! __first {
    ($first:expr $(, $rest:expr)* $(,)?) => {
        $first
    };
}

/// Exports the abi_stable library header for a module built from its entry points.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_root_module {
    ($manifest:ident, $init:ident, $handle:ident, $export:ident, $bind:ident, $stats:ident, $set_log_level:ident) => {
        fn __frontdoor_root_module() -> $crate::PluginModuleRef {
            use $crate::abi_stable::prefix_type::PrefixTypeTrait;
            $crate::PluginModule {
                manifest: $manifest,
                init: $init,
                handle: $handle,
                export: $export,
                bind: $bind,
                stats: $stats,
                set_log_level: $set_log_level,
            }
            .leak_into_prefix()
        }

        #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
        pub static __FRONTDOOR_LIB_HEADER: $crate::abi_stable::library::LibHeader = {
            extern "C" fn erased_module() -> $crate::abi_stable::library::RootModuleResult {
                $crate::abi_stable::library::__call_root_module_loader(__frontdoor_root_module)
            }
            // SAFETY: `erased_module` returns the root module of type `PluginModuleRef`,
            // exactly the type named here, which is what `from_constructor` requires; the
            // layout is checked by the host before use (`CheckTypeLayout::Yes`).
            unsafe {
                $crate::abi_stable::library::LibHeader::from_constructor::<$crate::PluginModuleRef>(
                    erased_module,
                    $crate::abi_stable::library::CheckTypeLayout::Yes,
                )
            }
        };
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn exported_symbol_matches_abi_stable() {
        assert_eq!(
            abi_stable::library::ROOT_MODULE_LOADER_NAME,
            "_1as_0lib_1header_0root_bmodule_bloader"
        );
    }
}
