//! The error-rate rule, the JSON shape, and latency and hang on a paused clock.

use std::time::Duration;

use super::*;
use crate::shutdown;

fn failing(rate: f64, requests: u64) -> Vec<u64> {
    let faults = Faults {
        error_rate: rate,
        ..Faults::default()
    };
    (0..requests).filter(|&n| faults.fails(n)).collect()
}

#[test]
fn half_fails_every_second_request() {
    assert_eq!(failing(0.5, 8), [1, 3, 5, 7]);
}

#[test]
fn rates_spread_failures_evenly() {
    assert_eq!(failing(0.0, 100), Vec::<u64>::new());
    assert_eq!(failing(1.0, 5), [0, 1, 2, 3, 4]);
    assert_eq!(failing(0.25, 12), [3, 7, 11]);
    assert_eq!(failing(0.1, 1000).len(), 100);
    assert_eq!(failing(1.0 / 3.0, 300).len(), 100);
}

#[test]
fn error_rate_must_be_a_fraction() {
    for rate in [0.0, 0.5, 1.0] {
        let faults = Faults {
            error_rate: rate,
            ..Faults::default()
        };
        assert_eq!(faults.validate(), Ok(()));
    }
    for rate in [-0.1, 1.5, f64::NAN] {
        let faults = Faults {
            error_rate: rate,
            ..Faults::default()
        };
        assert!(faults.validate().is_err(), "{rate} accepted");
    }
}

#[test]
fn missing_fields_are_off_and_unknown_fields_are_refused() {
    let faults: Faults = serde_json::from_str(r#"{"latency_ms": 50}"#).expect("valid faults");
    assert_eq!(
        faults,
        Faults {
            latency_ms: 50,
            ..Faults::default()
        }
    );
    let faults: Faults = serde_json::from_str("{}").expect("valid faults");
    assert_eq!(faults, Faults::default());
    assert!(serde_json::from_str::<Faults>(r#"{"latency": 50}"#).is_err());
}

#[test]
fn setting_faults_restarts_the_sequence() {
    let switch = Switch::default();
    assert_eq!(switch.plan().n, 0);
    assert_eq!(switch.plan().n, 1);
    let faults = Faults {
        error_rate: 0.5,
        ..Faults::default()
    };
    switch.set(faults);
    assert_eq!(switch.faults(), faults);
    assert_eq!(switch.plan(), Plan { faults, n: 0 });
    assert_eq!(switch.plan().n, 1);
}

#[tokio::test(start_paused = true)]
async fn latency_is_waited_out_before_the_verdict() {
    let (_trigger, mut stop) = shutdown::channel();
    let plan = Plan {
        faults: Faults {
            latency_ms: 100,
            error_rate: 1.0,
            ..Faults::default()
        },
        n: 0,
    };
    let started = tokio::time::Instant::now();
    assert_eq!(plan.run(&mut stop).await, Ok(Verdict::Fail));
    // The clock is paused: it only moves when every task waits, straight to the deadline.
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn no_latency_answers_without_waiting() {
    let (_trigger, mut stop) = shutdown::channel();
    let plan = Plan {
        faults: Faults::default(),
        n: 0,
    };
    let started = tokio::time::Instant::now();
    assert_eq!(plan.run(&mut stop).await, Ok(Verdict::Answer));
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn hang_lasts_until_stop() {
    let (trigger, stop) = shutdown::channel();
    let plan = Plan {
        faults: Faults {
            hang: true,
            ..Faults::default()
        },
        n: 0,
    };
    let mut waiting = stop.clone();
    let an_hour = Duration::from_secs(3600);
    assert!(
        tokio::time::timeout(an_hour, plan.run(&mut waiting))
            .await
            .is_err(),
        "a hung request answered"
    );
    let mut waiting = stop.clone();
    let hung = tokio::spawn(async move { plan.run(&mut waiting).await });
    trigger.pull();
    assert_eq!(hung.await.expect("the hung request ends"), Err(Stopped));
}
