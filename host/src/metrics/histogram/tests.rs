//! The bucket a value lands in, and what a snapshot reads back.

use std::time::Duration;

use super::*;

static BOUNDS: [u64; 3] = [1_000, 10_000, 100_000];

#[test]
fn a_value_lands_in_the_first_bucket_whose_bound_it_does_not_exceed() {
    let histogram = LatencyHistogram::new(&BOUNDS);
    assert!(histogram.is_empty());
    for nanos in [0, 1_000, 1_001, 10_000, 100_001, u64::MAX] {
        histogram.observe(Duration::from_nanos(nanos));
    }
    let snapshot = histogram.snapshot();
    let counts: Vec<u64> = snapshot.buckets.iter().map(|(_, count)| *count).collect();
    // `le` is inclusive: 1 000 ns is in the first bucket, 1 001 ns in the second.
    assert_eq!(counts, [2, 2, 0, 2]);
    assert_eq!(snapshot.count, 6);
    assert!(!histogram.is_empty());
}

#[test]
fn bounds_and_sum_read_back_in_seconds() {
    let histogram = LatencyHistogram::new(&BOUNDS);
    histogram.observe(Duration::from_micros(5));
    histogram.observe(Duration::from_micros(20));
    let snapshot = histogram.snapshot();
    assert_eq!(
        snapshot.buckets,
        [
            (0.000_001, 0),
            (0.000_01, 1),
            (0.000_1, 1),
            (f64::INFINITY, 0)
        ]
    );
    assert_eq!(snapshot.count, 2);
    assert!((snapshot.sum_seconds - 0.000_025).abs() < 1e-12);
}

#[test]
fn a_duration_beyond_u64_nanoseconds_saturates_in_the_open_bucket() {
    let histogram = LatencyHistogram::new(&BOUNDS);
    histogram.observe(Duration::MAX);
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.buckets.last(), Some(&(f64::INFINITY, 1)));
}

#[test]
fn millisecond_histograms_convert_to_seconds() {
    let snapshot = HistogramSnapshot::from_millis(&[1, 10], &[3, 1, 2], 25_000);
    assert_eq!(
        snapshot.buckets,
        [(0.001, 3), (0.01, 1), (f64::INFINITY, 2)]
    );
    assert_eq!(snapshot.count, 6);
    assert!((snapshot.sum_seconds - 0.025).abs() < 1e-12);
}

#[test]
fn the_host_bounds_ascend() {
    for bounds in [&REQUEST_BOUNDS_NS[..], &RELOAD_BOUNDS_NS[..]] {
        assert!(bounds.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
