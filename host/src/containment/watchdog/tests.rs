//! The watchdog's clock arithmetic: how long it sleeps, and that a poll's running time is
//! never over-counted, whatever the sleep was when the poll started.

use super::*;

#[test]
fn the_sleep_is_a_tenth_of_the_finest_limit_within_its_bounds() {
    assert_eq!(sleep_ms(u64::MAX), MAX_SLEEP_MS, "nothing loaded yet");
    assert_eq!(sleep_ms(250), 25, "the default limit");
    assert_eq!(sleep_ms(100), 10);
    assert_eq!(
        sleep_ms(20),
        MIN_SLEEP_MS,
        "a small limit keeps the finest resolution"
    );
    assert_eq!(sleep_ms(0), MIN_SLEEP_MS);
    assert_eq!(
        sleep_ms(60_000),
        MAX_SLEEP_MS,
        "a long limit is still seen soon"
    );
}

#[test]
fn the_clock_word_keeps_both_parts() {
    for (now, sleeping) in [
        (1, 5),
        (123_456_789, 25),
        ((1 << CLOCK_BITS) - 1, MAX_SLEEP_MS),
    ] {
        let word = clock_word(now, sleeping);
        assert_ne!(word, 0, "0 means idle");
        assert_eq!(clock_parts(word), (now, sleeping));
    }
}

#[test]
fn a_poll_counts_only_the_sleeps_that_began_after_it_started() {
    // Started while the watchdog slept a 25 ms step that began at 1,000: it may have started
    // at its very end, so only steps after 1,025 surely passed.
    let started = clock_word(1_000, 25);
    assert_eq!(running_ms(started, 1_000), 0, "the same step");
    assert_eq!(running_ms(started, 1_025), 0, "the step it started in");
    assert_eq!(running_ms(started, 1_030), 5, "one 5 ms step after it");
    assert_eq!(running_ms(started, 1_275), 250);
    // A clock that reads less than the start (a slot read mid-update) is not a long poll.
    assert_eq!(running_ms(started, 900), 0);
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
    assert!(!is_blocked(health, 100), "at the limit");
    assert!(is_blocked(health, 101));
    assert!(
        FINEST_LIMIT_MS.load(Ordering::Relaxed) <= 100,
        "loading a version tells the watchdog its limit"
    );
}
