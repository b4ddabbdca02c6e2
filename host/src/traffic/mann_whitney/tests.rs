//! Mann-Whitney against values worked out by hand (and by pair counting), with ties and
//! tiny samples.

use super::*;

fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
    (actual - expected).abs() <= tolerance
}

/// U by its definition: pairs where the candidate is larger, ties counting one half.
fn u_by_pairs(candidate: &[u32], reference: &[u32]) -> f64 {
    let mut u = 0.0;
    for &c in candidate {
        for &r in reference {
            u += match c.cmp(&r) {
                std::cmp::Ordering::Greater => 1.0,
                std::cmp::Ordering::Equal => 0.5,
                std::cmp::Ordering::Less => 0.0,
            };
        }
    }
    u
}

#[test]
fn the_normal_tail_matches_tables() {
    assert!(close(upper_tail(0.0), 0.5, 1e-7));
    assert!(close(upper_tail(1.959_964), 0.025, 1e-6));
    assert!(close(upper_tail(2.326_348), 0.01, 1e-6));
    assert!(close(upper_tail(3.0), 0.001_349_9, 1e-6));
    assert!(close(upper_tail(-1.644_854), 0.95, 1e-6));
}

#[test]
fn separated_samples_without_ties() {
    // U = 25 of 25 pairs; mean 12.5, variance 25/12 · 11 = 22.9167; z = 12 / 4.7871.
    let test = greater(&[6, 7, 8, 9, 10], &[1, 2, 3, 4, 5]).expect("two samples");
    assert_eq!(test.u, 25.0);
    assert!(close(test.z, 2.506_718, 1e-5), "{test:?}");
    assert!(close(test.p, 0.006_092, 1e-5), "{test:?}");
    // The other way round there is no evidence of "larger" at all.
    let reverse = greater(&[1, 2, 3, 4, 5], &[6, 7, 8, 9, 10]).expect("two samples");
    assert_eq!(reverse.u, 0.0);
    assert!(reverse.p > 0.99, "{reverse:?}");
}

#[test]
fn ties_share_ranks_and_shrink_the_variance() {
    // Sorted: 1 1 | 2 2 2 | 3 3 3 | 4 4 → mean ranks 1.5, 4, 7, 9.5; the candidate's sum
    // 4 + 7 + 7 + 9.5 + 9.5 = 37, U = 37 − 15 = 22. Σ(t³−t) = 6 + 24 + 24 + 6 = 60, so
    // variance = 25/12 · (11 − 60/90) = 21.5278 and z = 9 / 4.6398 = 1.93974.
    let candidate = [2, 3, 3, 4, 4];
    let reference = [1, 1, 2, 2, 3];
    let test = greater(&candidate, &reference).expect("two samples");
    assert_eq!(test.u, u_by_pairs(&candidate, &reference));
    assert_eq!(test.u, 22.0);
    assert!(close(test.z, 1.939_737, 1e-5), "{test:?}");
    assert!(close(test.p, 0.026_21, 2e-4), "{test:?}");
}

#[test]
fn tiny_and_degenerate_samples_give_no_false_evidence() {
    assert_eq!(greater(&[], &[1, 2]), None);
    assert_eq!(greater(&[1], &[]), None);
    // One against one: the continuity correction leaves z = 0.
    let one = greater(&[5], &[3]).expect("two samples");
    assert_eq!(one.u, 1.0);
    assert!(close(one.p, 0.5, 1e-6), "{one:?}");
    // Every value equal: zero variance, no evidence.
    let flat = greater(&[4, 4, 4], &[4, 4]).expect("two samples");
    assert_eq!(
        flat,
        MannWhitney {
            u: 3.0,
            z: 0.0,
            p: 0.5
        }
    );
}

#[test]
fn u_matches_pair_counting_on_mixed_samples() {
    let candidate: Vec<u32> = (0..200).map(|i| (i * 7919 % 97) as u32).collect();
    let reference: Vec<u32> = (0..150).map(|i| (i * 104_729 % 89) as u32).collect();
    let test = greater(&candidate, &reference).expect("two samples");
    assert_eq!(test.u, u_by_pairs(&candidate, &reference));
}

#[test]
fn a_three_times_slower_sample_is_detected_and_a_copy_is_not() {
    // Deterministic, spread latencies (µs) around 3 ms, and the same three times slower.
    let baseline: Vec<u32> = (0..100).map(|i| 3_000 + (i * 37 % 500)).collect();
    let slower: Vec<u32> = baseline.iter().map(|&v| v * 3).collect();
    let test = greater(&slower, &baseline).expect("two samples");
    assert!(test.p < 1e-10, "{test:?}");
    let same = greater(&baseline, &baseline).expect("two samples");
    assert!(same.p > 0.4, "{same:?}");
}
