//! Tests of the number formats of the printed report.

use super::{latency, thousands};

#[test]
fn thousands_are_separated() {
    assert_eq!(thousands(0.0), "0");
    assert_eq!(thousands(999.4), "999");
    assert_eq!(thousands(1000.0), "1,000");
    assert_eq!(thousands(118_234.6), "118,235");
    assert_eq!(thousands(1_234_567.0), "1,234,567");
    assert_eq!(thousands(-4_321.0), "-4,321");
    assert_eq!(thousands(f64::NAN), "-");
}

#[test]
fn latencies_pick_their_unit() {
    assert_eq!(latency(245.4), "245 µs");
    assert_eq!(latency(1_234.0), "1.23 ms");
    assert_eq!(latency(1_500_000.0), "1.50 s");
    assert_eq!(latency(f64::INFINITY), "-");
}
