//! The breaker's state machine, on tokio's paused clock.

use tokio::time::{Duration, Instant, advance};

use super::*;

fn config() -> BreakerConfig {
    BreakerConfig {
        error_threshold_percent: 50,
        min_requests: 4,
        window: Duration::from_secs(10),
        open_for: Duration::from_secs(5),
        half_open_probes: 1,
    }
}

fn call(breaker: &Arc<CircuitBreaker>, outcome: Outcome) -> Result<(), CircuitOpen> {
    breaker
        .try_acquire(Instant::now())
        .map(|permit| permit.record(outcome, Instant::now()))
}

#[tokio::test(start_paused = true)]
async fn opens_at_the_threshold_only_with_enough_volume() {
    let breaker = CircuitBreaker::new(config());
    // Three failures: 100% errors but below the minimum volume.
    for _ in 0..3 {
        call(&breaker, Outcome::Failure).expect("closed");
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
    call(&breaker, Outcome::Failure).expect("closed");
    assert_eq!(breaker.state(), BreakerState::Open);
    assert_eq!(
        call(&breaker, Outcome::Success),
        Err(CircuitOpen),
        "open fails fast"
    );
}

#[tokio::test(start_paused = true)]
async fn stays_closed_below_the_error_rate() {
    let breaker = CircuitBreaker::new(config());
    for round in 0..20 {
        let outcome = if round % 3 == 2 {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        call(&breaker, outcome).expect("closed");
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn old_failures_leave_the_window() {
    let breaker = CircuitBreaker::new(config());
    for _ in 0..3 {
        call(&breaker, Outcome::Failure).expect("closed");
    }
    advance(Duration::from_secs(11)).await;
    call(&breaker, Outcome::Failure).expect("closed");
    assert_eq!(
        breaker.state(),
        BreakerState::Closed,
        "only one failure is left in the window"
    );
}

#[tokio::test(start_paused = true)]
async fn half_open_probe_closes_or_reopens() {
    let breaker = CircuitBreaker::new(config());
    for _ in 0..4 {
        call(&breaker, Outcome::Failure).expect("closed");
    }
    assert_eq!(breaker.state(), BreakerState::Open);
    advance(Duration::from_secs(4)).await;
    assert_eq!(
        call(&breaker, Outcome::Success),
        Err(CircuitOpen),
        "still open"
    );

    advance(Duration::from_secs(1)).await;
    let probe = breaker
        .try_acquire(Instant::now())
        .expect("one probe passes");
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
    assert!(
        breaker.try_acquire(Instant::now()).is_err(),
        "only one probe at a time"
    );
    probe.record(Outcome::Failure, Instant::now());
    assert_eq!(
        breaker.state(),
        BreakerState::Open,
        "a failed probe reopens"
    );

    advance(Duration::from_secs(5)).await;
    breaker
        .try_acquire(Instant::now())
        .expect("probe")
        .record(Outcome::Success, Instant::now());
    assert_eq!(
        breaker.state(),
        BreakerState::Closed,
        "a successful probe closes"
    );
    // The window starts fresh: three failures are below the volume again.
    for _ in 0..3 {
        call(&breaker, Outcome::Failure).expect("closed");
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_probe_frees_its_slot() {
    let breaker = CircuitBreaker::new(config());
    for _ in 0..4 {
        call(&breaker, Outcome::Failure).expect("closed");
    }
    advance(Duration::from_secs(5)).await;
    drop(breaker.try_acquire(Instant::now()).expect("probe"));
    assert!(
        breaker.try_acquire(Instant::now()).is_ok(),
        "the dropped probe did not keep the slot"
    );
}
