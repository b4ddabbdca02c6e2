use std::time::{Duration, SystemTime};

use super::{History, POINTS_KEPT, Totals, quantile_ms};

fn totals(requests: u64, errors: u64, fast: u64, slow: u64) -> Totals {
    Totals {
        requests,
        errors,
        buckets: vec![(0.001, fast), (0.1, slow), (f64::INFINITY, 0)],
    }
}

#[test]
fn a_point_is_the_difference_between_two_samples() {
    let history = History::default();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
    history.record(vec![("tv@1.0.0".into(), totals(10, 0, 10, 0))], start);
    assert!(
        history.latest("tv@1.0.0").is_none(),
        "one sample is no interval"
    );
    history.record(
        vec![("tv@1.0.0".into(), totals(110, 10, 100, 10))],
        start + Duration::from_secs(5),
    );
    let point = history.latest("tv@1.0.0").expect("a point");
    assert_eq!(point.requests_per_s, 20.0);
    assert_eq!(point.error_rate, Some(0.1));
    assert_eq!(point.p50_ms, Some(1.0));
    assert_eq!(point.p99_ms, Some(100.0));
}

#[test]
fn versions_gone_from_the_table_and_old_points_are_dropped() {
    let history = History::default();
    let start = SystemTime::UNIX_EPOCH;
    for step in 0..(POINTS_KEPT as u64 + 10) {
        history.record(
            vec![("tv@1.0.0".into(), totals(step, 0, step, 0))],
            start + Duration::from_secs(step * 5),
        );
    }
    assert_eq!(history.points("tv@1.0.0").len(), POINTS_KEPT);
    history.record(vec![("tv@2.0.0".into(), Totals::default())], start);
    assert!(history.points("tv@1.0.0").is_empty());
}

#[test]
fn quantiles_of_empty_and_overflowing_buckets() {
    assert_eq!(quantile_ms(&[(0.001, 0), (f64::INFINITY, 0)], 0.99), None);
    // Everything past the last bound: reported at that bound, never infinity.
    assert_eq!(
        quantile_ms(&[(0.001, 0), (0.5, 0), (f64::INFINITY, 3)], 0.5),
        Some(500.0)
    );
}
