//! Shared modules from the SDK's side: declaring requirements, turning the bindings the host
//! hands out into typed handles, and running a module's function under its caller's
//! bindings with panics caught.
//!
//! A typed handle is made in one place ([`bound_as`]), and only from a [`BoundModule`]
//! whose table was checked against exactly the layout this plugin declared for the
//! interface: that is what makes the cast sound whoever passed the binding in.

mod scope;

use std::{
    any::TypeId,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::OnceLock,
};

use abi_stable::{
    StableAbi,
    prefix_type::{PrefixRef, PrefixRefTrait, WithMetadata_},
    std_types::{RArc, RResult, RString},
    type_layout::TypeLayout,
};

use super::interface::{Bound, Interface};
use crate::{
    BindingSet, BoundModule, CheckedInterface, HostRequestObj, ModuleCallError,
    ModuleCallErrorKind, ModuleExport, ModuleScope,
};

/// One requirement as the macros declare it: module name, semver requirement, and the
/// interface (as its layout, for the host, and its `TypeId`, for typed lookups). Made only
/// by [`required_module`], so the layout and the type always agree.
pub struct RequiredModule {
    module: &'static str,
    requirement: &'static str,
    interface: &'static TypeLayout,
    type_id: fn() -> TypeId,
}

impl RequiredModule {
    pub fn module(&self) -> &'static str {
        self.module
    }

    pub fn requirement(&self) -> &'static str {
        self.requirement
    }

    /// The layout of the interface's table type, as this plugin was compiled against it.
    pub fn interface(&self) -> &'static TypeLayout {
        self.interface
    }
}

/// Describes a requirement on module `module` through interface `I` (a handle type
/// declared with [`crate::module_interface!`]).
pub const fn required_module<I: Interface>(
    module: &'static str,
    requirement: &'static str,
) -> RequiredModule {
    RequiredModule {
        module,
        requirement,
        interface: <I::Table as StableAbi>::LAYOUT,
        type_id: TypeId::of::<I>,
    }
}

/// Describes a requirement through interface `I` by what its declaration says: the module
/// it names (`module "artwork";`) and `^` with its last `since` version, so the requirement
/// is stated once, where the functions it needs are. Evaluated at compile time: an
/// interface that names no module does not compile in this short form.
pub const fn required_by_interface<I: Interface>() -> RequiredModule {
    assert!(
        !I::MODULE.is_empty(),
        "this interface names no module (no `module \"name\";` line in its declaration): \
         write `\"name\" \"requirement\" => Interface` in `requires`"
    );
    required_module::<I>(I::MODULE, I::REQUIREMENT)
}

/// Why a typed module handle is not available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleError {
    /// The interface was not declared in the plugin's `requires`.
    NotDeclared(&'static str),
    /// No module is bound to that requirement (never the case for a routed request: a
    /// plugin with an unbound requirement takes no requests).
    Unbound(&'static str),
    /// The binding offered was not checked against this plugin's declaration of the
    /// interface (bindings from another plugin, or another requirement).
    NotChecked(&'static str),
    /// A module's dependency was asked for outside a call into the module, where there are
    /// no bindings to read (for example from a thread the module spawned).
    OutsideCall(&'static str),
}

impl std::fmt::Display for ModuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotDeclared(interface) => {
                write!(f, "interface {interface} is not declared in `requires`")
            }
            Self::Unbound(module) => write!(f, "no version of shared module {module} is bound"),
            Self::NotChecked(module) => write!(
                f,
                "the binding offered for shared module {module} was not checked against this plugin's interface"
            ),
            Self::OutsideCall(module) => write!(
                f,
                "shared module {module} is reachable only while a call into this module runs"
            ),
        }
    }
}

impl std::error::Error for ModuleError {}

impl From<ModuleError> for ModuleCallError {
    fn from(error: ModuleError) -> Self {
        ModuleCallError::new(ModuleCallErrorKind::Unavailable, error.to_string())
    }
}

/// Runs a shared-module function body, turning a panic into an error value: a panic may
/// not unwind out of an `extern "C"` function (into another copy of std, it would abort
/// the process). The interface macro's wrappers call it through [`serve`]; it is public
/// for code that crosses other `extern "C"` boundaries by hand.
pub fn guarded<T>(body: impl FnOnce() -> T) -> RResult<T, ModuleCallError> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => RResult::ROk(value),
        Err(payload) => {
            super::stats::module_panicked();
            RResult::RErr(ModuleCallError::new(
                ModuleCallErrorKind::Panicked,
                RString::from(super::catch_panic::panicked(payload).message.as_str()),
            ))
        }
    }
}

/// The body of every generated interface wrapper: makes the callee's bindings current for
/// the duration of the call (restored on the way out, panic included) and runs `body`
/// under [`guarded`].
#[doc(hidden)]
pub fn serve<T>(
    scope: ModuleScope<'_>,
    body: impl FnOnce() -> Result<T, ModuleCallError>,
) -> RResult<T, ModuleCallError> {
    let _current = scope::enter(scope);
    match guarded(body) {
        RResult::ROk(Ok(value)) => RResult::ROk(value),
        RResult::ROk(Err(error)) | RResult::RErr(error) => RResult::RErr(error),
    }
}

/// For a shared module's code: its own dependency declared with interface `I`, as bound
/// for the call in progress (the same versions at every depth for the caller's whole
/// request).
pub fn dependency<I: Interface>() -> Result<I, ModuleError> {
    let (index, required) = requirement::<I>()?;
    scope::with_current(|bindings| {
        let bindings = bindings.ok_or(ModuleError::OutsideCall(required.module))?;
        let bound = bindings
            .get(index)
            .ok_or(ModuleError::Unbound(required.module))?;
        bound_as::<I>(bound, required)
    })
}

/// For adapters: the module bound to requirement `I` for the request `host`.
pub(super) fn for_request<I: Interface>(host: &HostRequestObj) -> Result<I, ModuleError> {
    let (index, required) = requirement::<I>()?;
    let index = u32::try_from(index).map_err(|_| ModuleError::Unbound(required.module))?;
    let bound = host.module(index).into_option();
    let bound = bound.ok_or(ModuleError::Unbound(required.module))?;
    bound_as::<I>(bound, required)
}

/// Checks `export` against interface `I` and returns a handle to it whose calls run with
/// `dependencies` as the module's bindings: how a host-side harness (a benchmark, a test)
/// calls a module it loaded itself.
pub fn checked<I: Interface>(
    export: &ModuleExport,
    dependencies: RArc<BindingSet>,
) -> Result<I, abi_stable::abi_stability::abi_checking::AbiInstabilityErrors> {
    let checked = CheckedInterface::check(<I::Table as StableAbi>::LAYOUT, export)?;
    // SAFETY: the table passed abi_stable's layout check against `I::Table`'s layout, in
    // the line above, so it is a prefix struct compatible with `I::Table`'s.
    let table = unsafe { typed::<I::Table>(checked.table()) };
    Ok(I::from_bound(Bound::new(table, dependencies)))
}

/// This plugin's requirements, in manifest order (set once by `init`).
static REQUIREMENTS: OnceLock<&'static [RequiredModule]> = OnceLock::new();

pub(super) fn set_requirements(requirements: &'static [RequiredModule]) {
    let _ = REQUIREMENTS.set(requirements);
}

/// The index of `I` among the declared requirements, and its declaration.
fn requirement<I: Interface>() -> Result<(usize, &'static RequiredModule), ModuleError> {
    REQUIREMENTS
        .get()
        .and_then(|requirements| {
            requirements
                .iter()
                .enumerate()
                .find(|(_, required)| (required.type_id)() == TypeId::of::<I>())
        })
        .ok_or(ModuleError::NotDeclared(I::NAME))
}

/// The typed handle for `bound`, if it was checked against `required`'s interface.
fn bound_as<I: Interface>(
    bound: &BoundModule,
    required: &'static RequiredModule,
) -> Result<I, ModuleError> {
    // The host checked the table against the layout at `checked_against`, which it read
    // from this plugin's manifest; the manifest's layouts are read from the same static as
    // `required`, so equal addresses mean this very declaration. Anything else (another
    // plugin's binding, another requirement's) is refused rather than trusted.
    if !std::ptr::eq(bound.checked_against(), required.interface) {
        return Err(ModuleError::NotChecked(required.module));
    }
    // SAFETY: `bound` comes from `BoundModule::new`, which takes its table and
    // `checked_against` from one `CheckedInterface`, made only by a passed
    // `check_layout_compatibility(checked_against, the module's exported layout)`. The
    // exported layout is that of the table's own type (`ModuleExport::new`), and
    // `checked_against` is `required.interface`, which `required_module::<I>` set to
    // `I::Table`'s layout: the table is a prefix struct compatible with `I::Table`'s.
    let table = unsafe { typed::<I::Table>(bound.table()) };
    Ok(I::from_bound(Bound::new(
        table,
        bound.dependencies().clone(),
    )))
}

/// Turns a type-erased table back into its typed prefix reference.
///
/// # Safety
///
/// `table` must point to a leaked `'static` prefix struct whose layout passed
/// `check_layout_compatibility(<T as StableAbi>::LAYOUT, its own layout)`.
unsafe fn typed<T: PrefixRefTrait>(table: crate::ModuleTable) -> T {
    let raw = table
        .as_ptr()
        .cast::<WithMetadata_<T::PrefixFields, T::PrefixFields>>();
    // SAFETY: the caller guarantees `raw` points to a prefix struct compatible with `T`'s.
    T::from_prefix_ref(unsafe { PrefixRef::from_raw(raw) })
}

#[cfg(test)]
mod tests;
