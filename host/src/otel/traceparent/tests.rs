//! `traceparent` parsing against what a device (or an attacker) may send.

use super::*;

const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[test]
fn a_valid_header_is_read() {
    let parsed = TraceParent::parse(VALID.as_bytes()).expect("valid");
    assert_eq!(parsed.trace_id, 0x4bf92f3577b34da6a3ce929d0e0e4736);
    assert_eq!(parsed.parent_id, 0x00f067aa0ba902b7);
    assert!(parsed.sampled());
    let unsampled = VALID.replace("-01", "-00");
    assert!(
        !TraceParent::parse(unsampled.as_bytes())
            .expect("valid")
            .sampled()
    );
}

#[test]
fn formatting_round_trips() {
    let parsed = TraceParent::parse(VALID.as_bytes()).expect("valid");
    let header = format(parsed.trace_id, parsed.parent_id, true);
    assert_eq!(header.to_str().expect("ascii"), VALID);
}

#[test]
fn attacker_inputs_are_refused() {
    let refused = [
        "",
        "00",
        // one digit short / long in each field
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b77-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        // uppercase hex
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
        // all-zero ids
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        // version ff, and version 00 with trailing data
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        // wrong separators, signs, spaces
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
        // a future version must be followed by '-' or nothing
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
    ];
    for input in refused {
        assert_eq!(TraceParent::parse(input.as_bytes()), None, "{input:?}");
    }
}

#[test]
fn a_future_version_is_read_as_version_00() {
    let future = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next";
    assert!(TraceParent::parse(future.as_bytes()).is_some());
    let future_bare = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert!(TraceParent::parse(future_bare.as_bytes()).is_some());
}
