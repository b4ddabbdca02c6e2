//! The SDK's side of shared modules, in-process: tables built by `module_interface!`,
//! bindings made the way the host makes them, and the ways a binding can be misused.

use std::sync::Once;

use abi_stable::std_types::{RArc, RString};

use super::{ModuleError, RequiredModule, dependency, required_module, serve, set_requirements};
use crate::{
    BindingSet, BoundModule, CheckedInterface, ModuleCallError, ModuleCallErrorKind, ModuleScope,
};

crate::module_interface! {
    /// Test interface A.
    pub struct Upper;
    /// Implemented by A's modules.
    pub trait UpperModule;

    since "1.0" {
        /// `text` upper-cased.
        fn upper(text: RString) -> RString;
    }
}

crate::module_interface! {
    /// Test interface B, another layout.
    pub struct Count;
    /// Implemented by B's modules.
    pub trait CountModule;

    since "1.0" {
        /// The length of `text`.
        fn count(text: RString) -> u64;
        /// What `upper`, this module's own dependency, makes of `text`.
        fn through_upper(text: RString) -> RString;
    }
}

struct Shouting;

impl UpperModule for Shouting {
    fn upper(text: RString) -> Result<RString, ModuleCallError> {
        if text.as_str() == "boom" {
            panic!("deliberate panic");
        }
        Ok(text.to_uppercase().into())
    }
}

struct Counting;

impl CountModule for Counting {
    fn count(text: RString) -> Result<u64, ModuleCallError> {
        Ok(text.len() as u64)
    }

    fn through_upper(text: RString) -> Result<RString, ModuleCallError> {
        dependency::<Upper>()?.upper(text)
    }
}

/// This test binary's requirements, as a plugin's `init` would set them: A, then B.
static REQUIRES: &[RequiredModule] = &[
    required_module::<Upper>("upper", "^1"),
    required_module::<Count>("count", "^1"),
];

fn declare() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| set_requirements(REQUIRES));
}

/// The export of implementation `T` of interface `I`, bound to requirement `index` the way
/// the host binds it, with `dependencies` as its own bindings.
fn bind(index: usize, export: crate::ModuleExport, dependencies: RArc<BindingSet>) -> BoundModule {
    let checked = CheckedInterface::check(REQUIRES[index].interface(), &export)
        .unwrap_or_else(|_| panic!("requirement {index} accepts the export"));
    BoundModule::new(&checked, dependencies)
}

fn nothing() -> RArc<BindingSet> {
    RArc::new(BindingSet::empty())
}

#[test]
fn a_dependency_is_reached_only_during_a_call_with_bindings() {
    declare();
    assert_eq!(
        dependency::<Upper>().map(|_| ()),
        Err(ModuleError::OutsideCall("upper"))
    );
    let bindings = BindingSet::new(vec![bind(
        0,
        Upper::__frontdoor_export::<Shouting>(),
        nothing(),
    )]);
    let shouted = serve(ModuleScope::new(&bindings), || {
        dependency::<Upper>()?.upper("hi".into())
    });
    assert_eq!(shouted.into_result(), Ok(RString::from("HI")));
    // Not declared by this plugin: refused, whatever the bindings.
    let undeclared = serve(ModuleScope::new(&bindings), || {
        dependency::<Count>()
            .map(|_| ())
            .map_err(ModuleCallError::from)
    });
    assert_eq!(
        undeclared.into_result().map_err(|error| error.kind),
        Err(ModuleCallErrorKind::Unavailable)
    );
    assert_eq!(
        dependency::<Upper>().map(|_| ()),
        Err(ModuleError::OutsideCall("upper")),
        "the bindings are current only while the call runs"
    );
}

#[test]
fn a_module_reaches_its_own_dependencies_through_the_bindings_its_caller_passes() {
    declare();
    // count's own bindings: upper (requirement 0 of this test plugin).
    let counts_bindings = RArc::new(BindingSet::new(vec![bind(
        0,
        Upper::__frontdoor_export::<Shouting>(),
        nothing(),
    )]));
    let bindings = BindingSet::new(vec![
        bind(0, Upper::__frontdoor_export::<Shouting>(), nothing()),
        bind(1, Count::__frontdoor_export::<Counting>(), counts_bindings),
    ]);
    let answer = serve(ModuleScope::new(&bindings), || {
        let count = dependency::<Count>()?;
        Ok((
            count.count("four".into())?,
            count.through_upper("deep".into())?,
        ))
    });
    assert_eq!(answer.into_result(), Ok((4, RString::from("DEEP"))));
}

#[test]
fn a_binding_checked_against_another_declaration_is_refused() {
    declare();
    // A genuine, checked binding of `count`, offered where `upper` is expected: refused,
    // never cast.
    let misplaced = BindingSet::new(vec![bind(
        1,
        Count::__frontdoor_export::<Counting>(),
        nothing(),
    )]);
    let refused = serve(ModuleScope::new(&misplaced), || {
        dependency::<Upper>()
            .map(|_| ())
            .map_err(ModuleCallError::from)
    });
    let error = refused.into_result().expect_err("refused");
    assert_eq!(error.kind, ModuleCallErrorKind::Unavailable);
    assert_eq!(error.message, ModuleError::NotChecked("upper").to_string());
    // And a table of another layout does not pass the check in the first place.
    assert!(
        CheckedInterface::check(
            REQUIRES[0].interface(),
            &Count::__frontdoor_export::<Counting>()
        )
        .is_err()
    );
    assert!(super::checked::<Upper>(&Count::__frontdoor_export::<Counting>(), nothing()).is_err());
}

#[test]
fn a_panic_in_a_module_is_an_error_value_and_the_callers_bindings_come_back() {
    declare();
    let upper: Upper =
        super::checked(&Upper::__frontdoor_export::<Shouting>(), nothing()).expect("checked");
    let panicked = upper
        .upper("boom".into())
        .expect_err("the panic is an error");
    assert_eq!(panicked.kind, ModuleCallErrorKind::Panicked);
    assert_eq!(panicked.message, "deliberate panic");
    // Inside a call with bindings, a panicking callee restores them on its way out.
    let bindings = BindingSet::new(vec![bind(
        0,
        Upper::__frontdoor_export::<Shouting>(),
        nothing(),
    )]);
    let after = serve(ModuleScope::new(&bindings), || {
        let inner = dependency::<Upper>()?;
        assert!(inner.upper("boom".into()).is_err());
        dependency::<Upper>()?.upper("still bound".into())
    });
    assert_eq!(after.into_result(), Ok(RString::from("STILL BOUND")));
    assert_eq!(
        dependency::<Upper>().map(|_| ()),
        Err(ModuleError::OutsideCall("upper"))
    );
}
