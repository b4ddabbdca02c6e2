//! `contained`: a host service that panics gives the plugin its fallback, and the fallback
//! is made only then.

use std::cell::Cell;

use super::contained;

#[test]
fn a_service_that_panics_answers_its_fallback() {
    let answer = contained("test", || 7, || -> u32 { panic!("a host bug") });
    assert_eq!(answer, 7);
}

#[test]
fn the_fallback_is_made_only_when_the_service_panicked() {
    let made = Cell::new(0);
    let fallback = || {
        made.set(made.get() + 1);
        0
    };
    assert_eq!(contained("test", fallback, || 1), 1);
    assert_eq!(made.get(), 0, "a service that answered made no fallback");
    assert_eq!(
        contained("test", fallback, || -> u32 { panic!("a host bug") }),
        0
    );
    assert_eq!(made.get(), 1);
}
