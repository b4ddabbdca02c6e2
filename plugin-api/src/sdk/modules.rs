//! Shared modules from the SDK's side: declaring requirements, reaching bound modules with
//! their typed interface, and guarding module functions against panics.

use std::{
    any::TypeId,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{OnceLock, RwLock},
};

use abi_stable::{
    StableAbi,
    prefix_type::{PrefixRef, PrefixRefTrait, WithMetadata_},
    std_types::{RResult, RString},
    type_layout::TypeLayout,
};

use crate::{HostRequestObj, ModuleCallError, ModuleTable};

/// One requirement as the macros declare it: module name, semver requirement, and the
/// interface type (as its layout, for the host, and its `TypeId`, for typed lookups).
pub struct RequiredModule {
    pub module: &'static str,
    pub requirement: &'static str,
    pub interface: &'static TypeLayout,
    pub type_id: fn() -> TypeId,
}

/// Describes a requirement on module `module` with interface `M` (its `PrefixRef` type).
pub const fn required_module<M: StableAbi + 'static>(
    module: &'static str,
    requirement: &'static str,
) -> RequiredModule {
    RequiredModule {
        module,
        requirement,
        interface: <M as StableAbi>::LAYOUT,
        type_id: TypeId::of::<M>,
    }
}

/// Why a typed module handle is not available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleError {
    /// The interface type was not declared in the plugin's `requires`.
    NotDeclared(&'static str),
    /// The host has no module bound to that requirement (never the case for a routed
    /// request: an adapter with an unbound requirement is not routed to).
    Unbound(&'static str),
}

impl std::fmt::Display for ModuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotDeclared(interface) => {
                write!(f, "interface {interface} is not declared in `requires`")
            }
            Self::Unbound(module) => write!(f, "no version of shared module {module} is bound"),
        }
    }
}

impl std::error::Error for ModuleError {}

/// Runs a shared-module function body, turning a panic into an error value: module
/// functions are `extern "C"`, and a panic may not unwind out of them (into another copy of
/// std, it would abort the process).
pub fn guarded<T>(body: impl FnOnce() -> T) -> RResult<T, ModuleCallError> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => RResult::ROk(value),
        Err(payload) => {
            super::stats::module_panicked();
            RResult::RErr(ModuleCallError {
                panicked: true,
                message: RString::from(super::catch_panic::panicked(payload).message.as_str()),
            })
        }
    }
}

/// This plugin's requirements, in manifest order (set once by `init`).
static REQUIREMENTS: OnceLock<&'static [RequiredModule]> = OnceLock::new();

/// A shared module's current bindings, pushed by the host through `bind`.
static BINDINGS: RwLock<Vec<ModuleTable>> = RwLock::new(Vec::new());

pub(super) fn set_requirements(requirements: &'static [RequiredModule]) {
    let _ = REQUIREMENTS.set(requirements);
}

pub(super) fn set_bindings(bindings: Vec<ModuleTable>) {
    *BINDINGS
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = bindings;
}

/// The index of `M` among the declared requirements.
fn requirement_index<M: 'static>() -> Result<(usize, &'static str), ModuleError> {
    REQUIREMENTS
        .get()
        .and_then(|requirements| {
            requirements
                .iter()
                .position(|required| (required.type_id)() == TypeId::of::<M>())
                .map(|index| (index, requirements[index].module))
        })
        .ok_or(ModuleError::NotDeclared(std::any::type_name::<M>()))
}

/// Turns a table the host bound to requirement `M` back into its typed handle.
fn typed<M: PrefixRefTrait>(table: ModuleTable) -> M {
    // SAFETY: the host hands out a table for a requirement only after checking (abi_stable's
    // `check_layout_compatibility`, expected = the layout declared with `M`, found = the
    // module's exported interface layout) that the module's table is a compatible
    // `PrefixRef` of `M`'s prefix type.
    unsafe { table.typed::<M>() }
}

impl ModuleTable {
    /// The typed interface handle behind this table.
    ///
    /// # Safety
    ///
    /// The table must come from a module whose exported interface layout passed
    /// `check_layout_compatibility(<M as StableAbi>::LAYOUT, export.interface)`; the table
    /// itself is a leaked `'static` prefix struct, valid for the life of the process.
    pub unsafe fn typed<M: PrefixRefTrait>(self) -> M {
        let raw = self
            .0
            .cast::<WithMetadata_<M::PrefixFields, M::PrefixFields>>();
        // SAFETY: the caller guarantees `raw` points to a prefix struct compatible with `M`'s.
        M::from_prefix_ref(unsafe { PrefixRef::from_raw(raw) })
    }
}

/// The module bound to requirement `M` for the request `host`.
pub(super) fn for_request<M: PrefixRefTrait + 'static>(
    host: &HostRequestObj,
) -> Result<M, ModuleError> {
    let (index, module) = requirement_index::<M>()?;
    let index = u32::try_from(index).map_err(|_| ModuleError::Unbound(module))?;
    host.module(index)
        .into_option()
        .map(typed)
        .ok_or(ModuleError::Unbound(module))
}

/// For shared modules: the module currently bound to this module's requirement `M`.
pub fn bound<M: PrefixRefTrait + 'static>() -> Result<M, ModuleError> {
    let (index, module) = requirement_index::<M>()?;
    let bindings = BINDINGS
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    bindings
        .get(index)
        .copied()
        .map(typed)
        .ok_or(ModuleError::Unbound(module))
}
