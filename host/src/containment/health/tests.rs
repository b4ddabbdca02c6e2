//! The quarantine judge and the memory verdicts, on hand-fed events.

use std::time::{Duration, Instant};

use frontdoor_plugin_api::PluginStats;

use super::*;

fn health(policy: QuarantineConfig, memory_limit: u64) -> &'static VersionHealth {
    VersionHealth::leak(
        "subject@1.0.0".into(),
        vec!["GET /x".into()],
        HealthLimits {
            quarantine: policy,
            max_poll: Duration::from_millis(100),
            memory_limit,
        },
        None,
    )
}

fn policy() -> QuarantineConfig {
    QuarantineConfig {
        window: Duration::from_secs(3600),
        panics: 5,
        timeouts: 3,
        blocked_polls: 2,
        min_failure_ratio: 0.5,
    }
}

#[test]
fn a_version_that_panics_on_every_request_is_quarantined_at_the_threshold() {
    let health = health(policy(), u64::MAX);
    for attempt in 1..=5 {
        assert!(
            !health.is_quarantined(),
            "quarantined after {attempt} panics"
        );
        health.count_request();
        health.record(Failure::Panic);
    }
    assert!(health.is_quarantined());
    let reason = health.quarantine_reason().expect("a reason");
    assert!(reason.contains("5 panics in 5 requests"), "{reason}");
}

#[test]
fn rare_panics_of_a_busy_version_stay_under_the_ratio() {
    let health = health(policy(), u64::MAX);
    for _ in 0..10 {
        for _ in 0..10 {
            health.count_request();
        }
        health.record(Failure::Panic);
    }
    assert!(
        !health.is_quarantined(),
        "10 panics in 100 requests is under the 0.5 ratio: {:?}",
        health.quarantine_reason()
    );
    assert_eq!(health.view().panics, 10);
}

#[test]
fn blocked_polls_quarantine_without_a_ratio_and_offload_at_once() {
    let health = health(policy(), u64::MAX);
    for _ in 0..100 {
        health.count_request();
    }
    health.record(Failure::BlockedPoll);
    assert!(
        health.is_offloaded(),
        "one blocked poll moves the version off device workers"
    );
    assert!(!health.is_quarantined());
    health.record(Failure::BlockedPoll);
    assert!(health.is_quarantined());
}

#[test]
fn a_zero_threshold_disables_that_failure_kind() {
    let health = health(
        QuarantineConfig {
            timeouts: 0,
            ..policy()
        },
        u64::MAX,
    );
    for _ in 0..50 {
        health.count_request();
        health.record(Failure::Timeout);
    }
    assert!(!health.is_quarantined());
    assert_eq!(health.view().timeouts, 50);
}

#[test]
fn the_first_reason_is_kept() {
    let health = health(policy(), u64::MAX);
    health.quarantine("first".into());
    health.quarantine("second".into());
    assert_eq!(health.quarantine_reason().as_deref(), Some("first"));
}

fn heap(live_bytes: u64, allocations: u64) -> PluginStats {
    PluginStats {
        live_bytes,
        allocations,
        ..PluginStats::default()
    }
}

#[test]
fn memory_over_the_limit_warns_first_and_condemns_only_further_growth() {
    let health = health(policy(), 1000);
    let start = Instant::now();
    let at = |seconds| start + Duration::from_secs(seconds);
    assert_eq!(
        health.observe_memory(heap(500, 10), at(0)),
        MemoryVerdict::Within
    );
    assert_eq!(
        health.observe_memory(heap(1500, 20), at(1)),
        MemoryVerdict::OverLimit
    );
    assert_eq!(
        health.observe_memory(heap(1400, 30), at(2)),
        MemoryVerdict::Holding
    );
    assert_eq!(
        health.observe_memory(heap(1600, 40), at(3)),
        MemoryVerdict::StillGrowing
    );
    let view = health.memory_view().expect("sampled");
    assert_eq!(view.live_bytes, 1600);
    assert!(view.over_limit);
    assert!((view.allocations_per_sec - 10.0).abs() < 1e-9);
}

#[test]
fn memory_back_under_the_limit_resets_the_warning() {
    let health = health(policy(), 1000);
    let now = Instant::now();
    assert_eq!(
        health.observe_memory(heap(2000, 0), now),
        MemoryVerdict::OverLimit
    );
    assert_eq!(
        health.observe_memory(heap(10, 0), now),
        MemoryVerdict::Within
    );
    assert_eq!(
        health.observe_memory(heap(1500, 0), now),
        MemoryVerdict::OverLimit
    );
}

#[test]
fn a_lifted_quarantine_starts_a_fresh_window() {
    let health = health(policy(), u64::MAX);
    assert_eq!(health.lift_quarantine(), None, "nothing to lift yet");
    for _ in 0..5 {
        health.count_request();
        health.record(Failure::Panic);
    }
    assert!(health.is_quarantined());
    let lifted = health.lift_quarantine().expect("it was quarantined");
    assert!(lifted.contains("5 panics"), "{lifted}");
    assert!(!health.is_quarantined());
    assert_eq!(health.quarantine_reason(), None);
    // The old panics no longer count: four new ones stay under the threshold of five.
    for _ in 0..4 {
        health.count_request();
        health.record(Failure::Panic);
    }
    assert!(!health.is_quarantined());
    health.count_request();
    health.record(Failure::Panic);
    assert!(health.is_quarantined());
}
