//! The watchdog's clock arithmetic (how long it sleeps, and that a poll's running time is
//! never over-counted, whatever the sleep was when the poll started), and pacing.

use super::*;

#[test]
fn the_sleep_is_a_tenth_of_the_finest_limit_within_its_bounds() {
    assert_eq!(sleep_us(u64::MAX, 0), MAX_SLEEP_US, "nothing loaded yet");
    assert_eq!(sleep_us(250_000, 0), 25_000, "the default limit");
    assert_eq!(sleep_us(100_000, 0), 10_000);
    assert_eq!(
        sleep_us(20_000, 0),
        MIN_SLEEP_US,
        "a small limit keeps the finest resolution"
    );
    assert_eq!(sleep_us(0, 0), MIN_SLEEP_US);
    assert_eq!(
        sleep_us(60_000_000, 0),
        MAX_SLEEP_US,
        "a long limit is still seen soon"
    );
}

#[test]
fn while_the_deployer_works_the_watchdog_paces_it() {
    for finest in [u64::MAX, 250_000, 20_000] {
        assert_eq!(sleep_us(finest, 1), PACING_SLEEP_US);
        assert_eq!(sleep_us(finest, 3), PACING_SLEEP_US);
    }
}

#[test]
fn the_clock_moves_by_what_was_slept_but_never_by_more_than_announced() {
    assert_eq!(
        advanced(1_000, 25_000, 25_080),
        26_000,
        "a late wake-up is not counted"
    );
    assert_eq!(
        advanced(1_000, 25_000, 300),
        1_300,
        "cut short by a pacing start"
    );
    assert_eq!(advanced(1_000, 250, 0), 1_000);
    assert_eq!(advanced(u64::MAX - 1, 250, 250), u64::MAX);
}

#[test]
fn a_pacing_start_wakes_the_watchdog_into_short_sleeps() {
    ensure_running();
    let pacing = Pacing::start();
    // The watchdog announces each sleep in the clock: within a few of its sleeps (the first
    // possibly a long one begun before the guard) it announces the pacing sleep. A failure
    // detector, bounded in count; it asserts no duration.
    let mut announced = Vec::new();
    for _ in 0..10_000 {
        let (_, sleeping) = clock_parts(CLOCK.load(Ordering::Relaxed));
        if sleeping == PACING_SLEEP_US {
            break;
        }
        announced.push(sleeping);
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(
        clock_parts(CLOCK.load(Ordering::Relaxed)).1,
        PACING_SLEEP_US,
        "the watchdog never paced; it announced {announced:?}"
    );
    drop(pacing);
}

#[test]
fn the_clock_word_keeps_both_parts() {
    for (now, sleeping) in [
        (1, PACING_SLEEP_US),
        (123_456_789, 25_000),
        ((1 << CLOCK_BITS) - 1, MAX_SLEEP_US),
    ] {
        let word = clock_word(now, sleeping);
        assert_ne!(word, 0, "0 means idle");
        assert_eq!(clock_parts(word), (now, sleeping));
    }
}

#[test]
fn a_poll_counts_only_the_sleeps_that_began_after_it_started() {
    // Started while the watchdog slept a 25 ms step that began at 1,000 µs: it may have
    // started at its very end, so only steps after 26,000 surely passed.
    let started = clock_word(1_000, 25_000);
    assert_eq!(running_us(started, 1_000), 0, "the same step");
    assert_eq!(running_us(started, 26_000), 0, "the step it started in");
    assert_eq!(running_us(started, 26_250), 250, "one pacing step after it");
    assert_eq!(running_us(started, 276_000), 250_000);
    // A clock that reads less than the start (a slot read mid-update) is not a long poll.
    assert_eq!(running_us(started, 900), 0);
}

#[test]
fn a_poll_is_blocked_only_past_its_limit() {
    let health = VersionHealth::leak(
        "watched@1.0.0".to_owned(),
        vec!["GET /".to_owned()],
        health::HealthLimits {
            quarantine: crate::containment::QuarantineConfig::default(),
            max_poll: Duration::from_millis(100),
            memory_limit: u64::MAX,
        },
        None,
    );
    assert!(!is_blocked(health, 100_000), "at the limit");
    assert!(is_blocked(health, 100_001));
    assert!(
        FINEST_LIMIT_US.load(Ordering::Relaxed) <= 100_000,
        "loading a version tells the watchdog its limit"
    );
}
