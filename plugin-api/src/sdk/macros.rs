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
/// `name: "...", version: "...",` before `routes`.
#[macro_export]
macro_rules! export_adapter {
    (routes: { $($method:ident $path:literal => $handler:path),* $(,)? } $(,)?) => {
        $crate::export_adapter! {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            routes: { $($method $path => $handler),* }
        }
    };
    (
        name: $name:expr,
        version: $version:expr,
        routes: { $($method:ident $path:literal => $handler:path),* $(,)? } $(,)?
    ) => {
        const _: () = {
            use $crate::abi_stable::std_types::{RResult, RString};

            const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];
            const HANDLERS: &[$crate::sdk::entry::HandlerFn] =
                &[$(|request| $crate::sdk::entry::run($handler, request)),*];

            extern "C" fn manifest() -> RResult<$crate::Manifest, RString> {
                $crate::sdk::entry::manifest($crate::PluginKind::Adapter, $name, $version, ROUTES, &[])
            }

            extern "C" fn init(host: $crate::PluginHostObj) -> RResult<(), RString> {
                $crate::sdk::entry::init(host)
            }

            extern "C" fn handle(route: u32, request: $crate::HostRequestObj) -> $crate::abi::HandlerFuture {
                $crate::sdk::entry::handle(HANDLERS, route, request)
            }

            $crate::__export_root_module!(manifest, init, handle);
        };
    };
}

/// Exports the abi_stable library header for a module built from three entry points.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_root_module {
    ($manifest:ident, $init:ident, $handle:ident) => {
        fn __frontdoor_root_module() -> $crate::PluginModuleRef {
            use $crate::abi_stable::prefix_type::PrefixTypeTrait;
            $crate::PluginModule {
                manifest: $manifest,
                init: $init,
                handle: $handle,
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
