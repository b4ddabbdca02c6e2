//! How shared modules cross the boundary: the interface a module exports, the bindings the
//! host builds for each publication, the scope every module call carries, and the error a
//! call returns.
//!
//! Soundness rests on two pairs that safe code cannot pull apart: a [`ModuleExport`] ties a
//! table to the layout of the interface it was built from, and a [`BoundModule`] ties a
//! table to the consumer layout it was checked against ([`CheckedInterface`]). The SDK
//! turns a table back into a typed handle only through such a pair.

use abi_stable::{
    StableAbi,
    abi_stability::abi_checking::{AbiInstabilityErrors, check_layout_compatibility},
    prefix_type::PrefixRefTrait,
    std_types::{RArc, RString, RVec},
    type_layout::TypeLayout,
};

/// A type-erased pointer to a shared module's interface table (an abi_stable prefix struct
/// leaked for the life of the process).
///
/// The pointer is private: the host only passes tables around and compares them, and safe
/// code cannot make one up. A table always comes from a [`ModuleExport`].
///
/// ```compile_fail,E0423
/// use frontdoor_plugin_api::ModuleTable;
/// // Safe code cannot forge a table from an arbitrary address.
/// let forged = ModuleTable(0xdead_beef as *const ());
/// ```
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModuleTable(*const ());

// SAFETY: a module table is a leaked, immutable `'static` prefix struct of `extern "C"`
// function pointers; sharing a pointer to it across threads is sound.
unsafe impl Send for ModuleTable {}
// SAFETY: see `Send`: the pointee is never mutated after it is exported.
unsafe impl Sync for ModuleTable {}

impl ModuleTable {
    /// The address of the prefix struct, for the SDK's typed view of it.
    pub(crate) fn as_ptr(self) -> *const () {
        self.0
    }
}

/// What a shared module exports: its interface table and the layout of the interface type
/// the table was built as, which the host checks against each consumer's expectation.
///
/// The two are paired at construction, from one typed table, and cannot be separated or
/// swapped afterwards.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct ModuleExport {
    interface: &'static TypeLayout,
    table: ModuleTable,
}

impl ModuleExport {
    /// Exports `table`, a prefix reference (`PrefixRef` newtype) to a leaked interface
    /// table, with the layout of its own type.
    pub fn new<T: PrefixRefTrait + StableAbi>(table: T) -> Self {
        Self {
            interface: <T as StableAbi>::LAYOUT,
            table: ModuleTable(table.to_prefix_ref().to_raw_ptr().cast()),
        }
    }

    /// `<T as StableAbi>::LAYOUT` of the interface's prefix reference type.
    pub fn interface(&self) -> &'static TypeLayout {
        self.interface
    }

    /// The interface table.
    pub fn table(&self) -> ModuleTable {
        self.table
    }
}

/// A module's table that passed abi_stable's layout check against the interface a
/// consumer expects: proof that the table can be used as that interface. The host caches
/// these per (expected, exported) layout pair and binds requirements with them.
#[derive(Clone, Copy, Debug)]
pub struct CheckedInterface {
    expected: &'static TypeLayout,
    table: ModuleTable,
}

impl CheckedInterface {
    /// Checks that `export` can serve a consumer compiled against `expected`. The check is
    /// one-directional (expected first): a module may have appended functions the consumer
    /// does not know, not the reverse.
    ///
    /// abi_stable's checker reads the module's layout data and may call into the module's
    /// code (extra checks): callers keep it away from locks others wait on.
    pub fn check(
        expected: &'static TypeLayout,
        export: &ModuleExport,
    ) -> Result<Self, AbiInstabilityErrors> {
        check_layout_compatibility(expected, export.interface)?;
        Ok(Self {
            expected,
            table: export.table,
        })
    }

    /// The checked table.
    pub fn table(&self) -> ModuleTable {
        self.table
    }
}

/// The shared modules bound to one plugin version's requirements at one publication, in
/// manifest order. Built by the host, immutable, shared (`RArc`) by every request routed
/// through that publication, so a request sees one set of module versions at every depth
/// for its whole life.
#[repr(C)]
#[derive(StableAbi)]
pub struct BindingSet {
    modules: RVec<BoundModule>,
}

impl BindingSet {
    /// The bindings of a version's requirements, in manifest order.
    pub fn new(modules: Vec<BoundModule>) -> Self {
        Self {
            modules: modules.into(),
        }
    }

    /// No bindings: for a plugin that requires nothing.
    pub fn empty() -> Self {
        Self {
            modules: RVec::new(),
        }
    }

    /// The module bound to requirement `index`.
    pub fn get(&self, index: usize) -> Option<&BoundModule> {
        self.modules.get(index)
    }

    pub fn len(&self) -> usize {
        self.modules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.modules.is_empty()
    }
}

/// One requirement bound to one module version: the module's table, the consumer layout it
/// was checked against, and the module's own bindings at the same publication (passed to
/// it on every call, so its dependencies are as fixed as it is).
#[repr(C)]
#[derive(StableAbi)]
pub struct BoundModule {
    table: ModuleTable,
    checked_against: &'static TypeLayout,
    dependencies: RArc<BindingSet>,
}

impl BoundModule {
    /// Binds a checked table, with the module's own bindings for this publication.
    pub fn new(interface: &CheckedInterface, dependencies: RArc<BindingSet>) -> Self {
        Self {
            table: interface.table,
            checked_against: interface.expected,
            dependencies,
        }
    }

    pub fn table(&self) -> ModuleTable {
        self.table
    }

    /// The consumer's interface layout the table was checked against (the very address the
    /// consumer declared in its manifest).
    pub fn checked_against(&self) -> &'static TypeLayout {
        self.checked_against
    }

    /// The module's own bindings at this publication.
    pub fn dependencies(&self) -> &RArc<BindingSet> {
        &self.dependencies
    }
}

/// The bindings of the callee, passed as the hidden first argument of every interface
/// function: the generated wrapper makes them current while the module's code runs, which
/// is how a module reaches its own dependencies without anything global.
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy)]
pub struct ModuleScope<'a> {
    bindings: &'a BindingSet,
}

impl<'a> ModuleScope<'a> {
    pub fn new(bindings: &'a BindingSet) -> Self {
        Self { bindings }
    }

    pub fn bindings(self) -> &'a BindingSet {
        self.bindings
    }
}

/// Why a call into a shared module did not complete.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleCallErrorKind {
    /// The module's function panicked; the generated wrapper caught it.
    Panicked = 1,
    /// The module's function returned an error.
    Failed = 2,
    /// The function, or one of the module's own dependencies, is not available in the
    /// version bound (never the case after a passed layout check; reported, not assumed).
    Unavailable = 3,
}

/// A call into a shared module that did not complete. Interface functions return
/// `RResult<T, ModuleCallError>` so that a panic in a module never crosses into its caller:
/// unwinding between two copies of std aborts the process.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct ModuleCallError {
    pub kind: ModuleCallErrorKind,
    pub message: RString,
}

impl ModuleCallError {
    pub fn new(kind: ModuleCallErrorKind, message: impl Into<RString>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The module reports that it cannot do what was asked.
    pub fn failed(message: impl Into<RString>) -> Self {
        Self::new(ModuleCallErrorKind::Failed, message)
    }

    /// `function`, appended in `since`, is missing from the bound module.
    pub fn missing(function: &str, since: &str) -> Self {
        Self::new(
            ModuleCallErrorKind::Unavailable,
            format!("the bound version predates {function} (since {since})"),
        )
    }

    pub fn panicked(&self) -> bool {
        self.kind == ModuleCallErrorKind::Panicked
    }
}

impl std::fmt::Display for ModuleCallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            ModuleCallErrorKind::Panicked => "shared module panicked",
            ModuleCallErrorKind::Failed => "shared module failed",
            ModuleCallErrorKind::Unavailable => "shared module unavailable",
        };
        write!(f, "{what}: {}", self.message)
    }
}

impl std::error::Error for ModuleCallError {}
