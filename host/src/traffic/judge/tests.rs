//! The judge over known sample sets: errors, slowness, noise and too little data.

use super::*;

/// `count` requests with latencies spread deterministically over `[base, base + 1 ms)`,
/// every `error_every`-th one a 5xx.
fn side(count: u64, base_us: u32, error_every: Option<u64>) -> ArmSummary {
    ArmSummary {
        requests: count,
        errors: error_every.map_or(0, |every| count / every),
        latencies_us: (0..count)
            .map(|i| base_us + (i as u32 * 7_919) % 1_000)
            .collect(),
    }
}

fn criteria() -> Criteria {
    Criteria {
        min_requests: 50,
        ..Criteria::default()
    }
}

#[test]
fn a_canary_failing_one_request_in_five_fails_on_errors() {
    let judgement = judge(
        &side(200, 3_000, None),
        &side(200, 3_000, Some(5)),
        &criteria(),
    );
    assert_eq!(judgement.outcome, Outcome::Fail, "{judgement:?}");
    assert!(
        judgement
            .reason
            .contains("5xx rate regressed: canary 20.0%"),
        "{}",
        judgement.reason
    );
    assert_eq!(judgement.canary.error_rate, Some(0.2));
}

#[test]
fn an_error_rate_within_the_margin_passes() {
    // 4% against 2%: two points, inside a five-point margin.
    let judgement = judge(
        &side(200, 3_000, Some(50)),
        &side(200, 3_000, Some(25)),
        &criteria(),
    );
    assert_eq!(judgement.outcome, Outcome::Pass, "{judgement:?}");
}

#[test]
fn a_three_times_slower_canary_fails_on_latency() {
    let judgement = judge(
        &side(200, 3_000, None),
        &side(200, 9_000, None),
        &criteria(),
    );
    assert_eq!(judgement.outcome, Outcome::Fail, "{judgement:?}");
    assert!(
        judgement.reason.contains("latency regressed"),
        "{}",
        judgement.reason
    );
    let test = judgement.mann_whitney.expect("a test was made");
    assert_eq!(
        test.u,
        200.0 * 200.0,
        "every canary latency is above every baseline one"
    );
    assert!(test.p < 1e-10);
}

#[test]
fn a_significant_but_small_slowdown_passes() {
    // 5% slower at the median: significant with this many samples, below the 20% margin.
    let judgement = judge(
        &side(2_000, 10_000, None),
        &side(2_000, 10_500, None),
        &criteria(),
    );
    let test = judgement.mann_whitney.expect("a test was made");
    assert!(test.p < 0.01, "{test:?}");
    assert_eq!(judgement.outcome, Outcome::Pass, "{judgement:?}");
}

#[test]
fn a_faster_canary_passes() {
    let judgement = judge(
        &side(200, 9_000, None),
        &side(200, 3_000, None),
        &criteria(),
    );
    assert_eq!(judgement.outcome, Outcome::Pass, "{judgement:?}");
}

#[test]
fn too_few_requests_on_either_side_is_inconclusive() {
    let judgement = judge(
        &side(200, 3_000, None),
        &side(10, 90_000, Some(1)),
        &criteria(),
    );
    assert_eq!(judgement.outcome, Outcome::Inconclusive, "{judgement:?}");
    let judgement = judge(&side(0, 0, None), &side(200, 3_000, None), &criteria());
    assert_eq!(judgement.outcome, Outcome::Inconclusive);
    assert_eq!(judgement.baseline.error_rate, None);
    assert_eq!(judgement.mann_whitney, None);
}

#[test]
fn medians() {
    assert_eq!(median(&[]), None);
    assert_eq!(median(&[5, 1, 3]), Some(3.0));
    assert_eq!(median(&[4, 1, 3, 2]), Some(2.5));
}
