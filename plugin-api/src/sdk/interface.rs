//! `module_interface!`: how an interface crate declares a shared module's interface once,
//! and gets the ABI table, the implementation trait, the guarded `extern "C"` wrappers and
//! the typed consumer handle generated from that one declaration.
//!
//! Nothing an author writes is `extern "C"`: every function crosses the boundary through a
//! generated wrapper that runs the implementation under `catch_unwind` with the caller's
//! bindings current, so a module that panics costs its caller an error value, never the
//! process.

use abi_stable::{StableAbi, prefix_type::PrefixRefTrait, std_types::RArc};

use crate::{BindingSet, ModuleScope};

/// A shared module's interface as its callers name it: the handle type declared with
/// [`crate::module_interface!`]. Used in `requires: { "name" "^1" => Handle }`,
/// `ctx.module::<Handle>()` and [`crate::dependency`].
pub trait Interface: Sized + 'static {
    /// The handle's name, for error messages.
    const NAME: &'static str;

    /// The module name `requires: { Handle }` binds to (`module "name";` in the
    /// declaration); empty when the interface names none.
    const MODULE: &'static str;

    /// The requirement `requires: { Handle }` states: `^` and the minor version of the
    /// declaration's last `since` group, the functions a consumer compiled against it may
    /// call.
    const REQUIREMENT: &'static str;

    /// The abi_stable prefix reference of the generated `#[repr(C)]` table.
    #[doc(hidden)]
    type Table: PrefixRefTrait + StableAbi + Copy + 'static;

    /// Wraps a typed table and the module's bindings into the handle.
    #[doc(hidden)]
    fn from_bound(bound: Bound<Self::Table>) -> Self;
}

/// `A` declared interface `I` in its `requires`: `export_adapter!` implements it for its
/// `Adapter` marker once per declared interface, and [`crate::Ctx::module`] requires it, so
/// calling a module the adapter did not declare does not compile.
#[diagnostic::on_unimplemented(
    message = "shared module interface `{I}` is not declared in this adapter's `requires`",
    label = "`{I}` is not in `requires`",
    note = "declare it in `export_adapter!` (`requires: {{ {I} }}`), and take `ctx: Ctx<Adapter>` in the handler"
)]
pub trait Declares<I: Interface> {}

/// The marker of plain `Ctx`: it declares no module.
pub enum NoModules {}

/// A bound module as a generated handle holds it: the typed table, and the module's own
/// bindings, passed to it on every call. Holding the bindings (reference-counted) keeps
/// them alive as long as the handle, wherever the handle is kept.
#[doc(hidden)]
pub struct Bound<T> {
    table: T,
    dependencies: RArc<BindingSet>,
}

impl<T: Copy> Bound<T> {
    pub(crate) fn new(table: T, dependencies: RArc<BindingSet>) -> Self {
        Self {
            table,
            dependencies,
        }
    }

    pub fn table(&self) -> T {
        self.table
    }

    /// The hidden first argument of every call: the callee's bindings.
    pub fn scope(&self) -> ModuleScope<'_> {
        ModuleScope::new(&self.dependencies)
    }
}

impl<T: Copy> Clone for Bound<T> {
    fn clone(&self) -> Self {
        Self {
            table: self.table,
            dependencies: self.dependencies.clone(),
        }
    }
}

/// Declares a shared module's interface. Put it in the interface crate (an rlib that both
/// the implementation and its consumers depend on, with `abi_stable` as a dependency: the
/// generated table derives `StableAbi`).
///
/// ```
/// use frontdoor_plugin_api::{ModuleCallError, abi_stable::std_types::RString};
///
/// frontdoor_plugin_api::module_interface! {
///     /// Greetings, as callers see them: `ctx.module::<Greeter>()?.greet(name)?`.
///     pub struct Greeter;
///     /// What a `greeter` module implements (export it with `export_shared_module!`).
///     pub trait GreeterModule;
///     // The module consumers bind to by default: `requires: { Greeter }` means
///     // `"greeter" "^1.1"` (`^` and the last `since` below).
///     module "greeter";
///
///     since "1.0" {
///         /// A greeting for `name`.
///         fn greet(name: RString) -> RString;
///     }
///     since "1.1" {
///         /// A farewell for `name`.
///         fn farewell(name: RString) -> RString;
///     }
/// }
///
/// // In the implementation crate:
/// struct Polite;
///
/// impl GreeterModule for Polite {
///     fn greet(name: RString) -> Result<RString, ModuleCallError> {
///         Ok(format!("hello, {name}").into())
///     }
///     fn farewell(name: RString) -> Result<RString, ModuleCallError> {
///         Ok(format!("goodbye, {name}").into())
///     }
/// }
/// # fn main() {}
/// ```
///
/// From one declaration the macro generates:
/// - the handle (`Greeter`): `Clone`, with one method per function returning
///   `Result<T, ModuleCallError>`; a consumer gets it from `ctx.module::<Greeter>()` (an
///   adapter) or [`crate::dependency`] (a module);
/// - the trait (`GreeterModule`) the implementation crate implements with plain Rust
///   functions, handed to [`crate::export_shared_module!`];
/// - hidden: the `#[repr(C)]` abi_stable prefix table of `extern "C"` functions, and the
///   wrappers that call the trait under `catch_unwind` with the caller's bindings current.
///
/// Functions are grouped by the minor version that added them. The first group is the
/// table's fixed prefix; each later group is appended, never reordered, so a module built
/// against a newer minor serves consumers of an older one. A consumer compiled against a
/// newer minor is bound only to modules that have its functions (the host's layout check).
/// A released group never changes: keep a frozen copy of the declaration as released (a
/// `release_1_0` module) to build and test old artifacts against.
///
/// Argument and return types cross the ABI, so they are `StableAbi` (`RString`, `RVec`,
/// integers, `#[repr(u8)]` enums deriving `StableAbi`).
#[macro_export]
macro_rules! module_interface {
    (
        $(#[$handle_attr:meta])*
        $vis:vis struct $Handle:ident;
        $(#[$trait_attr:meta])*
        $trait_vis:vis trait $Trait:ident;
        $(module $module_name:literal;)?

        since $first_since:literal {
            $(
                $(#[$first_attr:meta])*
                fn $first_fn:ident($($first_arg:ident : $first_ty:ty),* $(,)?) -> $first_ret:ty;
            )+
        }
        $(
            since $since:literal {
                $(
                    $(#[$later_attr:meta])*
                    fn $later_fn:ident($($later_arg:ident : $later_ty:ty),* $(,)?) -> $later_ret:ty;
                )+
            }
        )*
    ) => {
        $(#[$handle_attr])*
        #[derive(Clone)]
        $vis struct $Handle($crate::sdk::interface::Bound<<$Handle as $crate::sdk::Interface>::Table>);

        $(#[$trait_attr])*
        $trait_vis trait $Trait: 'static {
            $(
                $(#[$first_attr])*
                #[doc = concat!("\n\n*Since ", $first_since, ".*")]
                fn $first_fn($($first_arg: $first_ty),*) -> ::core::result::Result<$first_ret, $crate::ModuleCallError>;
            )+
            $($(
                $(#[$later_attr])*
                #[doc = concat!("\n\n*Since ", $since, ".*")]
                fn $later_fn($($later_arg: $later_ty),*) -> ::core::result::Result<$later_ret, $crate::ModuleCallError>;
            )+)*
        }

        impl ::core::fmt::Debug for $Handle {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(stringify!($Handle))
            }
        }

        // The handle's methods, in a block where the handle is reachable as `__Handle`:
        // the block inside names the table after the interface, which is what abi_stable's
        // layout errors then show.
        const _: () = {
            type __Handle = $Handle;

            const _: () = {
                $crate::__module_table! {
                    $Handle
                    []
                    [$($first_fn: extern "C" fn(
                        $crate::ModuleScope<'_>, $($first_ty),*
                    ) -> $crate::abi_stable::std_types::RResult<$first_ret, $crate::ModuleCallError>),+]
                    [$($($later_fn: extern "C" fn(
                        $crate::ModuleScope<'_>, $($later_ty),*
                    ) -> $crate::abi_stable::std_types::RResult<$later_ret, $crate::ModuleCallError>,)+)*]
                }

                impl $crate::sdk::Interface for __Handle {
                    const NAME: &'static str = stringify!($Handle);
                    const MODULE: &'static str = $crate::__first!($($module_name,)? "");
                    const REQUIREMENT: &'static str =
                        $crate::__caret_last!($first_since $(, $since)*);
                    type Table = Table;

                    fn from_bound(bound: $crate::sdk::interface::Bound<Table>) -> Self {
                        Self(bound)
                    }
                }

                // One monomorphised wrapper per function and implementation.
                $(
                    extern "C" fn $first_fn<T: $Trait>(
                        __frontdoor_scope: $crate::ModuleScope<'_>,
                        $($first_arg: $first_ty),*
                    ) -> $crate::abi_stable::std_types::RResult<$first_ret, $crate::ModuleCallError> {
                        $crate::sdk::modules::serve(__frontdoor_scope, move || T::$first_fn($($first_arg),*))
                    }
                )+
                $($(
                    extern "C" fn $later_fn<T: $Trait>(
                        __frontdoor_scope: $crate::ModuleScope<'_>,
                        $($later_arg: $later_ty),*
                    ) -> $crate::abi_stable::std_types::RResult<$later_ret, $crate::ModuleCallError> {
                        $crate::sdk::modules::serve(__frontdoor_scope, move || T::$later_fn($($later_arg),*))
                    }
                )+)*

                impl __Handle {
                    /// The table of implementation `T`, for `export_shared_module!`.
                    #[doc(hidden)]
                    pub fn __frontdoor_export<T: $Trait>() -> $crate::ModuleExport {
                        use $crate::abi_stable::prefix_type::PrefixTypeTrait as _;
                        $crate::ModuleExport::new(
                            $Handle {
                                $($first_fn: $first_fn::<T>,)+
                                $($($later_fn: $later_fn::<T>,)+)*
                            }
                            .leak_into_prefix(),
                        )
                    }

                    /// The table of implementation `T`, as a loaded module would export it:
                    /// what a test binds in place of one (`frontdoor_plugin_api::testkit`).
                    #[allow(dead_code, reason = "called from tests, when at all")]
                    pub fn implemented_by<T: $Trait>() -> $crate::ModuleExport {
                        Self::__frontdoor_export::<T>()
                    }

                    $(
                        $(#[$first_attr])*
                        #[doc = concat!("\n\n*Since ", $first_since, ".*")]
                        pub fn $first_fn(&self, $($first_arg: $first_ty),*) -> ::core::result::Result<$first_ret, $crate::ModuleCallError> {
                            (self.0.table().$first_fn())(self.0.scope(), $($first_arg),*).into_result()
                        }
                    )+
                    $($(
                        $(#[$later_attr])*
                        #[doc = concat!("\n\n*Since ", $since, ".*")]
                        pub fn $later_fn(&self, $($later_arg: $later_ty),*) -> ::core::result::Result<$later_ret, $crate::ModuleCallError> {
                            match self.0.table().$later_fn() {
                                ::core::option::Option::Some(function) => {
                                    function(self.0.scope(), $($later_arg),*).into_result()
                                }
                                ::core::option::Option::None => ::core::result::Result::Err(
                                    $crate::ModuleCallError::missing(stringify!($later_fn), $since),
                                ),
                            }
                        }
                    )+)*
                }
            };
        };
    };
}

/// The `#[repr(C)]` prefix table: the first group's fields with the last of them marked
/// `last_prefix_field` (abi_stable's end of the fixed prefix), then every later field.
/// Walks the first group one field at a time to find its last.
#[doc(hidden)]
#[macro_export]
macro_rules! __module_table {
    ($Name:ident [$($done:tt)*] [$field:ident : $ty:ty] [$($later:tt)*]) => {
        #[repr(C)]
        #[derive($crate::abi_stable::StableAbi)]
        #[sabi(kind(Prefix(prefix_ref = Table)))]
        #[sabi(missing_field(option))]
        pub struct $Name {
            $($done)*
            #[sabi(last_prefix_field)]
            $field: $ty,
            $($later)*
        }
    };
    ($Name:ident [$($done:tt)*] [$field:ident : $ty:ty, $($rest:tt)+] [$($later:tt)*]) => {
        $crate::__module_table! { $Name [$($done)* $field: $ty,] [$($rest)+] [$($later)*] }
    };
}

/// `^` and the last of its `since` versions: the requirement a consumer compiled against
/// the whole declaration states by default.
#[doc(hidden)]
#[macro_export]
macro_rules! __caret_last {
    ($last:literal) => {
        concat!("^", $last)
    };
    ($first:literal, $($rest:literal),+) => {
        $crate::__caret_last!($($rest),+)
    };
}
