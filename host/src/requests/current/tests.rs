//! The current request is the innermost one being run, and none outside.

use super::*;

fn id(text: &str) -> RequestId {
    RequestId::parse(text.as_bytes()).expect("a valid id")
}

#[test]
fn the_innermost_request_is_current_and_the_outer_one_comes_back() {
    assert_eq!(current(), None, "no request outside");
    let outer = id("outer");
    let inner = id("inner");
    within(&outer, || {
        assert_eq!(current(), Some(outer));
        within(&inner, || assert_eq!(current(), Some(inner)));
        assert_eq!(current(), Some(outer), "the outer request is current again");
    });
    assert_eq!(current(), None);
}

#[test]
fn a_panic_inside_still_restores_the_previous_request() {
    let outer = id("outer");
    within(&outer, || {
        let inner = id("inner");
        let caught = std::panic::catch_unwind(|| within(&inner, || panic!("plugin code")));
        assert!(caught.is_err());
        assert_eq!(
            current(),
            Some(outer),
            "unwinding restored the outer request"
        );
    });
    assert_eq!(current(), None);
}

#[test]
fn another_thread_has_its_own_current_request() {
    let outer = id("outer");
    within(&outer, || {
        let elsewhere = std::thread::spawn(current).join().expect("thread");
        assert_eq!(elsewhere, None);
    });
}
