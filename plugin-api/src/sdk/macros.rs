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
/// Every setting but `routes` is optional, in this order:
///
/// - `name: "...", version: "...",`: default to the crate's (`CARGO_PKG_NAME`,
///   `CARGO_PKG_VERSION`), which is what `cargo xtask build-plugin` names the artifact after.
/// - `requires: { Artwork, "formatter" "=1.0.0" => Text },`: the shared modules the adapter
///   calls, by the handle type of their interface (`artwork_api::Artwork`). The short form
///   takes the module name and the requirement from the interface's declaration (its
///   `module "artwork";` line, and `^` with its last `since` version); the long form states
///   them. A handler reaches one with `ctx.module::<Artwork>()?`, taking `ctx: Ctx<Adapter>`:
///   `Adapter` is the marker this macro declares beside it, and calling an interface the
///   adapter did not declare does not compile.
/// - `init: my_init,`: `async fn my_init(ctx: InitCtx) -> Result<State, E>` (`E: Display`),
///   run by the host once per loaded version before the warm-up; it reads the adapter's
///   configuration (`ctx.config::<MyConfig>()?`) and builds what handlers share, which they
///   read with `ctx.state::<State>()`. An error, a panic or the host's init timeout leaves
///   the version `failed` with the reason.
/// - `warmup: my_warmup,`: `async fn my_warmup(ctx: WarmupCtx) -> Result<(), String>`, run
///   after init and before the version takes traffic; an error, a panic or the host's
///   warm-up timeout leaves the version `failed`.
///
/// Routes are checked at compile time with the host's rules (`route`): a pattern that
/// cannot parse, a method the host does not route, or two routes matching the same paths
/// fail the build, naming the route. [`crate::sdk::compile_checks`] shows each mistake
/// that does not compile.
#[macro_export]
macro_rules! export_adapter {
    (
        $(name: $name:expr,)?
        $(version: $version:expr,)?
        $(requires: { $($requires:tt)* },)?
        $(init: $init:path,)?
        $(warmup: $warmup:path,)?
        routes: { $($method:ident $path:literal => $handler:path),* $(,)? } $(,)?
    ) => {
        /// This adapter as the SDK's compile-time checks know it: a handler taking
        /// `Ctx<Adapter>` may call the shared modules declared in `requires`, and no other.
        pub enum Adapter {}

        // `__FRONTDOOR_REQUIRES`, and `Adapter: Declares<I>` for each interface; beside the
        // adapter rather than inside the export block, so the test kit's definition below
        // reads the same static.
        $crate::__requires!(@munch [Adapter] [] $($($requires)*)?);

        const _: () = {
            use $crate::abi_stable::std_types::{ROption, RResult, RString};

            const __FRONTDOOR_ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];
            // A route the host would refuse is a compile error naming it.
            const _: () = $crate::route::assert_routes(__FRONTDOOR_ROUTES);
            const __FRONTDOOR_HANDLERS: &[$crate::sdk::entry::HandlerFn] =
                &[$(|request| $crate::sdk::entry::run($handler, request)),*];

            extern "C" fn __frontdoor_manifest() -> RResult<$crate::Manifest, RString> {
                $crate::sdk::entry::manifest(
                    $crate::PluginKind::Adapter,
                    $crate::__first!($($name,)? env!("CARGO_PKG_NAME")),
                    $crate::__first!($($version,)? env!("CARGO_PKG_VERSION")),
                    __FRONTDOOR_ROUTES,
                    __FRONTDOOR_REQUIRES,
                    // An init hook needs a host that runs it: older hosts refuse v3.
                    $crate::__first!($({ let _ = $init; $crate::ABI_VERSION_INIT },)? $crate::ABI_VERSION),
                )
            }


            extern "C" fn __frontdoor_handle(route: u32, request: $crate::HostRequestObj) -> $crate::abi::HandlerFuture {
                $crate::sdk::entry::handle(__FRONTDOOR_HANDLERS, route, request)
            }

            extern "C" fn __frontdoor_export() -> ROption<$crate::ModuleExport> {
                ROption::RNone
            }

            // No `warmup:` given: `None`, and the host publishes the version once loaded.
            const __FRONTDOOR_WARMUP: $crate::sdk::warmup::WarmupEntry = $crate::__first!(
                $({
                    extern "C" fn __frontdoor_warmup(
                        ctx: $crate::HostRequestObj,
                    ) -> $crate::abi::WarmupFuture {
                        $crate::sdk::warmup::run($warmup, ctx)
                    }
                    Some(__frontdoor_warmup as extern "C" fn(_) -> _)
                },)?
                None
            );

            // No `init:` given: `None`, and handlers have no state to read.
            const __FRONTDOOR_INIT: $crate::sdk::init::InitEntry = $crate::__first!(
                $({
                    extern "C" fn __frontdoor_init_hook(
                        ctx: $crate::HostRequestObj,
                        config: RString,
                    ) -> $crate::abi::InitFuture {
                        $crate::sdk::init::run($init, ctx, config)
                    }
                    Some(__frontdoor_init_hook as extern "C" fn(_, _) -> _)
                },)?
                None
            );

            $crate::__export_plugin!(__FRONTDOOR_REQUIRES, __frontdoor_manifest, __frontdoor_handle, __frontdoor_export, __FRONTDOOR_WARMUP, __FRONTDOOR_INIT);
        };

        /// This adapter's declaration as data, for the test kit (`frontdoor_plugin_api::testkit`).
        #[doc(hidden)]
        #[allow(dead_code, reason = "only the adapter's own tests call it")]
        pub fn __frontdoor_adapter() -> $crate::sdk::definition::AdapterDefinition {
            const ROUTES: &[$crate::sdk::definition::RouteEntry] = &[$($crate::sdk::definition::RouteEntry {
                method: stringify!($method),
                path: $path,
                handler: |request| $crate::sdk::entry::run($handler, request),
            }),*];
            $crate::sdk::definition::AdapterDefinition {
                name: $crate::__first!($($name,)? env!("CARGO_PKG_NAME")),
                version: $crate::__first!($($version,)? env!("CARGO_PKG_VERSION")),
                routes: ROUTES,
                requires: __FRONTDOOR_REQUIRES,
                warmup: $crate::__first!($(Some(|ctx| $crate::sdk::warmup::run($warmup, ctx)),)? None),
            }
        }
    };
}

/// Parses a `requires` list into the `__FRONTDOOR_REQUIRES` static (manifest order) and,
/// for an adapter, one `Declares` impl per interface on its marker. Each entry is either
/// `Interface` (name and requirement from the interface's declaration) or
/// `"module" "requirement" => Interface`.
#[doc(hidden)]
#[macro_export]
macro_rules! __requires {
    (@munch [$($marker:ident)?] [$($required:expr => $interface:ty;)*]) => {
        // A static, not a const: the layout addresses the manifest declares are the ones
        // typed lookups compare bindings against, so both must read the same memory.
        static __FRONTDOOR_REQUIRES: &[$crate::sdk::modules::RequiredModule] = &[$($required),*];
        $crate::__requires!(@declare [$($marker)?] $($interface;)*);
    };
    (@munch [$($marker:ident)?] [$($done:tt)*] $module:tt $requirement:tt => $interface:ty $(, $($rest:tt)*)?) => {
        $crate::__requires!(@munch [$($marker)?] [$($done)*
            $crate::sdk::modules::required_module::<$interface>($module, $requirement) => $interface;
        ] $($($rest)*)?);
    };
    (@munch [$($marker:ident)?] [$($done:tt)*] $interface:ty $(, $($rest:tt)*)?) => {
        $crate::__requires!(@munch [$($marker)?] [$($done)*
            $crate::sdk::modules::required_by_interface::<$interface>() => $interface;
        ] $($($rest)*)?);
    };
    (@declare [] $($interface:ty;)*) => {};
    (@declare [$marker:ident] $($interface:ty;)*) => {
        $(impl $crate::sdk::interface::Declares<$interface> for $marker {})*
    };
}

/// Declares a shared module: the interface it implements (a handle type declared with
/// [`crate::module_interface!`] in an interface crate), the type that implements it, and
/// the modules it requires itself.
///
/// ```no_run
/// use frontdoor_plugin_api::{ModuleCallError, abi_stable::std_types::RString};
///
/// // Normally in the interface crate:
/// frontdoor_plugin_api::module_interface! {
///     /// Greetings.
///     pub struct Greeter;
///     /// What a greeter implements.
///     pub trait GreeterModule;
///
///     since "1.0" {
///         /// A greeting for `name`.
///         fn greet(name: RString) -> RString;
///     }
/// }
///
/// struct Polite;
///
/// impl GreeterModule for Polite {
///     fn greet(name: RString) -> Result<RString, ModuleCallError> {
///         Ok(format!("hello, {name}").into())
///     }
/// }
///
/// frontdoor_plugin_api::export_shared_module! {
///     interface: Greeter,
///     implementation: Polite,
/// }
/// # fn main() {}
/// ```
///
/// Implementations are plain Rust: the generated wrappers catch panics (the caller gets a
/// [`crate::ModuleCallError`] of kind `Panicked`) and make the module's own bindings
/// current for the call. A module declares what it needs with
/// `requires: { "formatter" "^1" => Text },` (or `requires: { Text },` when the interface
/// names its module) before `interface`, and reaches it inside a
/// call with [`crate::dependency`]`::<Text>()`: the versions bound for the caller's
/// request, at every depth, for the request's whole life.
#[macro_export]
macro_rules! export_shared_module {
    (
        $(name: $name:expr,)?
        $(version: $version:expr,)?
        $(requires: { $($requires:tt)* },)?
        interface: $exported:ty,
        implementation: $implementation:ty $(,)?
    ) => {
        const _: () = {
            use $crate::abi_stable::std_types::{ROption, RResult, RString};

            $crate::__requires!(@munch [] [] $($($requires)*)?);

            extern "C" fn __frontdoor_manifest() -> RResult<$crate::Manifest, RString> {
                $crate::sdk::entry::manifest(
                    $crate::PluginKind::SharedModule,
                    $crate::__first!($($name,)? env!("CARGO_PKG_NAME")),
                    $crate::__first!($($version,)? env!("CARGO_PKG_VERSION")),
                    &[],
                    __FRONTDOOR_REQUIRES,
                    $crate::ABI_VERSION,
                )
            }


            extern "C" fn __frontdoor_handle(route: u32, request: $crate::HostRequestObj) -> $crate::abi::HandlerFuture {
                $crate::sdk::entry::handle(&[], route, request)
            }

            extern "C" fn __frontdoor_export() -> ROption<$crate::ModuleExport> {
                static __FRONTDOOR_TABLE: ::std::sync::OnceLock<$crate::ModuleExport> = ::std::sync::OnceLock::new();
                $crate::sdk::entry::export(
                    &__FRONTDOOR_TABLE,
                    <$exported>::__frontdoor_export::<$implementation>,
                )
            }

            $crate::__export_plugin!(__FRONTDOOR_REQUIRES, __frontdoor_manifest, __frontdoor_handle, __frontdoor_export);
        };
    };
}

/// The entry points every plugin shares (`init` with its requirements,
/// `stats`, `set_log_level`, the counting allocator), and the export of the root module.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_plugin {
    ($requires:ident, $manifest:ident, $handle:ident, $export:ident $(, $warmup:expr, $init_hook:expr)?) => {
        extern "C" fn __frontdoor_init(
            host: $crate::PluginHostObj,
        ) -> $crate::abi_stable::std_types::RResult<(), $crate::abi_stable::std_types::RString> {
            $crate::sdk::entry::init(host, $requires)
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
            __frontdoor_stats,
            __frontdoor_set_log_level
            $(, $warmup, $init_hook)?
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
    (
        $manifest:ident, $init:ident, $handle:ident, $export:ident, $stats:ident,
        $set_log_level:ident $(, $warmup:expr, $init_hook:expr)? $(,)?
    ) => {
        fn __frontdoor_root_module() -> $crate::PluginModuleRef {
            use $crate::abi_stable::prefix_type::PrefixTypeTrait;
            $crate::PluginModule {
                manifest: $manifest,
                init: $init,
                handle: $handle,
                export: $export,
                stats: $stats,
                set_log_level: $set_log_level,
                warmup: $crate::__first!($($warmup,)? None),
                init_hook: $crate::__first!($($init_hook,)? None),
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
