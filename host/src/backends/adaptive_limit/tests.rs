//! The adaptive limit on tokio's paused clock, where latencies are exact and so is every
//! count: alone, and in the call pipeline against a socket that never answers.

use std::sync::Arc;

use abi_stable::std_types::{RString, RVec};
use frontdoor_plugin_api::{BackendErrorKind, BackendRequest};
use futures_util::future::join_all;
use tokio::{
    net::TcpListener,
    time::{Duration, Instant, advance},
};

use super::*;
use crate::backends::{Backends, BreakerConfig, RequestScope};

const TIMEOUT: Duration = Duration::from_millis(1000);
const MS: Duration = Duration::from_millis(1);

fn limit_under(max_concurrent: usize, config: AdaptiveConfig) -> Arc<AdaptiveLimit> {
    config
        .validate("adaptive", max_concurrent)
        .expect("valid settings");
    AdaptiveLimit::new(&config, max_concurrent, TIMEOUT)
}

/// `rounds` rounds of `demand` attempts started together and answered together after
/// `latency(round)`; the attempts refused in all.
async fn closed_loop(
    limit: &Arc<AdaptiveLimit>,
    demand: usize,
    rounds: usize,
    latency: impl Fn(usize) -> Duration,
) -> usize {
    let mut refused = 0;
    for round in 0..rounds {
        let permits: Vec<LimitPermit> = (0..demand).filter_map(|_| limit.try_acquire()).collect();
        refused += demand - permits.len();
        advance(latency(round)).await;
        for permit in permits {
            permit.record(LimitOutcome::Answered);
        }
    }
    refused
}

/// One wave of `demand` attempts that all time out.
async fn timeouts(limit: &Arc<AdaptiveLimit>, demand: usize) -> usize {
    let permits: Vec<LimitPermit> = (0..demand).filter_map(|_| limit.try_acquire()).collect();
    let admitted = permits.len();
    advance(TIMEOUT).await;
    for permit in permits {
        permit.record(LimitOutcome::Dropped);
    }
    admitted
}

/// 5 to 7 ms: jitter well within the tolerance.
fn healthy(round: usize) -> Duration {
    MS * (5 + (round % 3) as u32)
}

#[tokio::test(start_paused = true)]
async fn a_healthy_backend_is_never_refused_what_the_bulkhead_allows() {
    let limit = limit_under(64, AdaptiveConfig::default());
    assert_eq!(limit.limit(), 64, "starts at the bulkhead's limit");
    // 60 of 64 in flight, round after round: no refusal, no shrinking.
    assert_eq!(closed_loop(&limit, 60, 500, healthy).await, 0);
    assert_eq!(limit.limit(), 64);
    assert_eq!(limit.rejected(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_limit_started_low_grows_to_its_ceiling_on_healthy_answers() {
    let limit = limit_under(
        64,
        AdaptiveConfig {
            initial_limit: Some(4),
            ..AdaptiveConfig::default()
        },
    );
    closed_loop(&limit, 2, 200, healthy).await;
    assert_eq!(
        limit.limit(),
        64,
        "no queueing seen: it grows even with little in flight"
    );
}

#[tokio::test(start_paused = true)]
async fn one_wave_of_timeouts_takes_the_limit_to_its_floor() {
    let limit = limit_under(256, AdaptiveConfig::default());
    closed_loop(&limit, 80, 20, healthy).await;
    assert_eq!(
        timeouts(&limit, 80).await,
        80,
        "all admitted before any ended"
    );
    assert_eq!(
        limit.limit(),
        2,
        "80 drops: 256 × 0.9^80 is below the floor"
    );
    let held: Vec<LimitPermit> = (0..2).filter_map(|_| limit.try_acquire()).collect();
    assert_eq!(held.len(), 2);
    assert!(limit.try_acquire().is_none(), "the third call is refused");
    assert_eq!(limit.rejected(), 1);
    // A hung backend keeps the floor: each wave admits two calls and loses them.
    drop(held);
    for _ in 0..10 {
        assert_eq!(timeouts(&limit, 80).await, 2);
    }
    assert_eq!(limit.limit(), 2);
    assert_eq!(limit.rejected(), 1 + 10 * 78);
}

#[tokio::test(start_paused = true)]
async fn the_limit_comes_back_when_the_backend_answers_again() {
    let limit = limit_under(64, AdaptiveConfig::default());
    closed_loop(&limit, 40, 20, healthy).await;
    timeouts(&limit, 40).await;
    assert_eq!(limit.limit(), 2);
    // Answers again: the demand is refused less and less, then not at all.
    let refused_first = closed_loop(&limit, 40, 10, healthy).await;
    assert!(refused_first > 0);
    closed_loop(&limit, 40, 100, healthy).await;
    assert_eq!(closed_loop(&limit, 40, 100, healthy).await, 0);
    assert_eq!(limit.limit(), 64, "back at the ceiling");
}

#[tokio::test(start_paused = true)]
async fn a_slow_backend_gets_fewer_calls_but_keeps_a_queue_allowance() {
    let limit = limit_under(64, AdaptiveConfig::default());
    assert_eq!(closed_loop(&limit, 40, 50, healthy).await, 0);
    // Twenty times slower: well past the tolerance.
    let refused = closed_loop(&limit, 40, 5, |_| MS * 100).await;
    assert!(refused > 0, "a slow backend sheds calls");
    let slowed = limit.limit();
    assert!((3..40).contains(&slowed), "limit {slowed}");
}

#[tokio::test(start_paused = true)]
async fn a_backend_timing_out_on_a_share_of_calls_is_held_to_a_fraction_of_its_limit() {
    let limit = limit_under(64, AdaptiveConfig::default());
    // Every third attempt times out, the others answer at once: what the README warns of.
    for _ in 0..50 {
        let permits: Vec<LimitPermit> = (0..40).filter_map(|_| limit.try_acquire()).collect();
        advance(MS * 5).await;
        for (index, permit) in permits.into_iter().enumerate() {
            let outcome = if index % 3 == 0 {
                LimitOutcome::Dropped
            } else {
                LimitOutcome::Answered
            };
            permit.record(outcome);
        }
    }
    let held = limit.limit();
    assert!(
        (2..40).contains(&held),
        "two of three calls would succeed, yet the limit is {held}"
    );
}

#[tokio::test(start_paused = true)]
async fn slow_answers_do_not_shrink_a_limit_the_caller_barely_uses() {
    let limit = limit_under(64, AdaptiveConfig::default());
    closed_loop(&limit, 1, 20, healthy).await;
    closed_loop(&limit, 1, 20, |_| MS * 500).await;
    assert_eq!(
        limit.limit(),
        64,
        "one call in flight: the caller set the pace"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_attempt_frees_its_slot_and_counts_only_when_overdue() {
    let limit = limit_under(4, AdaptiveConfig::default());
    closed_loop(&limit, 4, 20, |_| MS * 5).await;
    let before = limit.view();
    drop(limit.try_acquire().expect("slot"));
    let after = limit.view();
    assert_eq!(after.in_flight, 0, "the slot is free again");
    assert_eq!(
        after.recent_rtt_ms, before.recent_rtt_ms,
        "a young cancellation is no sample"
    );
    let permit = limit.try_acquire().expect("slot");
    advance(MS * 500).await;
    drop(permit);
    let after = limit.view();
    assert_eq!(after.in_flight, 0);
    assert!(
        after.recent_rtt_ms > before.recent_rtt_ms,
        "an overdue cancellation is a latency sample: {after:?}"
    );
    assert_eq!(limit.limit(), 4, "not a drop: one call in flight");
}

#[test]
fn settings_are_checked_with_the_key_named() {
    let adaptive = |text: &str| -> Result<Concurrency, String> {
        let file: AdaptiveFileConfig = toml::from_str(text).expect("TOML");
        resolve("catalog", Some("adaptive"), Some(file), 64)
    };
    let defaults = adaptive("").expect("defaults are valid");
    let Concurrency::Adaptive(config) = defaults else {
        panic!("adaptive");
    };
    assert_eq!(config.max_limit(64), 64);
    assert_eq!(config.initial_limit(64), 64);
    for (text, key) in [
        ("min_limit = 0", "backends.catalog.adaptive.min_limit"),
        ("max_limit = 65", "backends.catalog.adaptive.max_limit"),
        (
            "min_limit = 8\nmax_limit = 4",
            "backends.catalog.adaptive.max_limit",
        ),
        (
            "initial_limit = 1",
            "backends.catalog.adaptive.initial_limit",
        ),
        ("smoothing = 0.0", "backends.catalog.adaptive.smoothing"),
        ("smoothing = 1.5", "backends.catalog.adaptive.smoothing"),
        (
            "rtt_tolerance = 0.5",
            "backends.catalog.adaptive.rtt_tolerance",
        ),
        ("queue_size = 0", "backends.catalog.adaptive.queue_size"),
        (
            "short_window = 100\nlong_window = 10",
            "backends.catalog.adaptive.short_window",
        ),
    ] {
        let error = adaptive(text).expect_err(text);
        assert!(error.contains(key), "{text}: {error}");
    }
    let error = resolve("catalog", Some("adaptve"), None, 64).expect_err("typo");
    assert!(error.contains("backends.catalog.concurrency"), "{error}");
    let error = resolve("catalog", None, Some(AdaptiveFileConfig::default()), 64)
        .expect_err("adaptive table on a fixed backend");
    assert!(error.contains("backends.catalog.adaptive"), "{error}");
    assert_eq!(resolve("catalog", None, None, 64), Ok(Concurrency::Fixed));
    // The default floor fits under a bulkhead of one.
    assert!(resolve("catalog", Some("adaptive"), None, 1).is_ok());
}

/// A server on 127.0.0.1 that accepts connections and never answers.
async fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    url
}

fn get(path: String) -> BackendRequest {
    BackendRequest {
        backend: RString::from("hung"),
        method: RString::from("GET"),
        path: RString::from(path),
        headers: RVec::new(),
        body: RVec::new(),
    }
}

/// `calls` parallel GETs of distinct paths; their error kinds.
async fn wave(backends: &Backends, calls: usize) -> Vec<BackendErrorKind> {
    let scope = Arc::new(RequestScope::new(
        "test",
        Instant::now() + Duration::from_secs(60),
    ));
    join_all((0..calls).map(|call| backends.call(&scope, get(format!("/x?call={call}")))))
        .await
        .into_iter()
        .map(|result| result.expect_err("a hung backend answers nothing").kind)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn attempts_at_a_hung_backend_fall_to_the_floor_after_one_timeout() {
    let url = silent_server().await;
    let mut config = BackendConfig::new("hung", url);
    config.timeout = Duration::from_millis(100);
    config.max_concurrent = 64;
    // The breaker would open on these timeouts; this test is about the limit alone.
    config.breaker = BreakerConfig {
        min_requests: u32::MAX,
        ..BreakerConfig::default()
    };
    config.concurrency = Concurrency::Adaptive(AdaptiveConfig::default());
    let backends = Backends::new(vec![config]).expect("valid");
    let attempts = || backends.view()[0].attempts;

    let first = wave(&backends, 40).await;
    assert!(first.iter().all(|kind| *kind == BackendErrorKind::Timeout));
    assert_eq!(attempts(), 40, "before any timeout, 40 of 64 were allowed");
    assert_eq!(backends.view()[0].concurrency.limit, 2);

    for round in 1..=5 {
        let kinds = wave(&backends, 40).await;
        let timed_out = kinds
            .iter()
            .filter(|kind| **kind == BackendErrorKind::Timeout)
            .count();
        let rejected = kinds
            .iter()
            .filter(|kind| **kind == BackendErrorKind::Rejected)
            .count();
        assert_eq!((timed_out, rejected), (2, 38), "round {round}");
        assert_eq!(attempts(), 40 + 2 * round as u64);
    }
    let view = &backends.view()[0];
    assert_eq!(view.concurrency.rejected, 5 * 38);
    assert_eq!(view.totals.rejected, 5 * 38);
    assert_eq!(view.in_flight, 0);
}
