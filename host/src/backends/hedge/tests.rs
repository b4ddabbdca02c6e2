//! The race between an attempt and its hedge, the latency estimate, and a backend's hedges
//! against a socket that never answers, all on tokio's paused clock: timers fire exactly
//! and no test takes real time.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicUsize},
};

use abi_stable::std_types::{RString, RVec};
use frontdoor_plugin_api::BackendRequest;
use tokio::{net::TcpListener, time::sleep};

use super::*;
use crate::backends::{BackendConfig, Backends, HedgesView, RequestScope, RetryConfig};

const DELAY: Duration = Duration::from_millis(50);

/// An attempt answering `value` after `latency`.
async fn answer(value: &'static str, latency: Duration) -> Result<&'static str, &'static str> {
    sleep(latency).await;
    Ok(value)
}

/// An attempt failing with `error` after `latency`.
async fn failure(error: &'static str, latency: Duration) -> Result<&'static str, &'static str> {
    sleep(latency).await;
    Err(error)
}

fn settles(result: &Result<&'static str, &'static str>) -> bool {
    result.is_ok()
}

/// Sets its flag when dropped: tells whether a losing attempt was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn an_attempt_answering_before_the_delay_is_never_hedged() {
    let asked = AtomicUsize::new(0);
    let started = Instant::now();
    let (result, outcome) = race(
        answer("first", Duration::from_millis(10)),
        DELAY,
        || {
            asked.fetch_add(1, Ordering::SeqCst);
            true
        },
        || answer("hedge", Duration::ZERO),
        settles,
    )
    .await;
    assert_eq!((result, outcome), (Ok("first"), HedgeOutcome::NotDue));
    assert_eq!(asked.load(Ordering::SeqCst), 0, "no token was taken");
    assert_eq!(started.elapsed(), Duration::from_millis(10));
}

#[tokio::test(start_paused = true)]
async fn a_hedge_answers_for_a_first_attempt_that_never_does_and_the_first_is_dropped() {
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(dropped.clone());
    let started = Instant::now();
    let (result, outcome) = race(
        async move {
            let _flag = flag;
            std::future::pending::<Result<&'static str, &'static str>>().await
        },
        DELAY,
        || true,
        || answer("hedge", Duration::from_millis(5)),
        settles,
    )
    .await;
    assert_eq!((result, outcome), (Ok("hedge"), HedgeOutcome::Won));
    assert_eq!(started.elapsed(), DELAY + Duration::from_millis(5));
    assert!(
        dropped.load(Ordering::SeqCst),
        "the losing attempt is dropped"
    );
}

#[tokio::test(start_paused = true)]
async fn with_the_budget_empty_no_hedge_is_sent() {
    let sent = AtomicUsize::new(0);
    let (result, outcome) = race(
        answer("first", Duration::from_millis(200)),
        DELAY,
        || false,
        || {
            sent.fetch_add(1, Ordering::SeqCst);
            answer("hedge", Duration::ZERO)
        },
        settles,
    )
    .await;
    assert_eq!((result, outcome), (Ok("first"), HedgeOutcome::Denied));
    assert_eq!(sent.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn the_first_answer_wins_and_the_slower_hedge_is_dropped() {
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = DropFlag(dropped.clone());
    let (result, outcome) = race(
        answer("first", DELAY + Duration::from_millis(10)),
        DELAY,
        || true,
        move || async move {
            let _flag = flag;
            answer("hedge", Duration::from_millis(100)).await
        },
        settles,
    )
    .await;
    assert_eq!((result, outcome), (Ok("first"), HedgeOutcome::Lost));
    assert!(dropped.load(Ordering::SeqCst), "the hedge is dropped");
}

#[tokio::test(start_paused = true)]
async fn a_failure_waits_for_the_other_attempt() {
    // The hedge fails first: the first attempt's later answer is the call's.
    let (result, outcome) = race(
        answer("first", Duration::from_millis(200)),
        DELAY,
        || true,
        || failure("hedge 503", Duration::from_millis(10)),
        settles,
    )
    .await;
    assert_eq!((result, outcome), (Ok("first"), HedgeOutcome::Lost));
    // The first fails after the hedge went out: the hedge's answer is the call's.
    let (result, outcome) = race(
        failure("first 503", DELAY + Duration::from_millis(10)),
        DELAY,
        || true,
        || answer("hedge", Duration::from_millis(100)),
        settles,
    )
    .await;
    assert_eq!((result, outcome), (Ok("hedge"), HedgeOutcome::Won));
    // Both fail: the later failure is returned, and the hedge did not win.
    let (result, outcome) = race(
        failure("first 503", Duration::from_millis(200)),
        DELAY,
        || true,
        || failure("hedge 503", Duration::from_millis(10)),
        settles,
    )
    .await;
    assert_eq!((result, outcome), (Err("first 503"), HedgeOutcome::Lost));
}

#[test]
fn the_estimate_is_the_p95_of_recent_answers_once_there_are_enough() {
    let recent = RecentLatency::default();
    let ms = Duration::from_millis;
    for _ in 0..MIN_SAMPLES - 1 {
        recent.record(ms(10));
    }
    assert_eq!(recent.p95(), None, "too few answers for an estimate");
    recent.record(ms(100));
    assert_eq!(
        recent.p95(),
        Some(ms(10)),
        "one slow answer in 20 is above p95"
    );
    recent.record(ms(100));
    recent.record(ms(100));
    assert_eq!(recent.p95(), Some(ms(100)), "three in 22 are not");
    for _ in 0..WINDOW {
        recent.record(ms(5));
    }
    assert_eq!(
        recent.p95(),
        Some(ms(5)),
        "only the last {WINDOW} answers count"
    );
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

fn request(method: &str, path: &str) -> BackendRequest {
    BackendRequest {
        backend: RString::from("slow"),
        method: RString::from(method),
        path: RString::from(path),
        headers: RVec::new(),
        body: RVec::new(),
    }
}

/// A hedging backend on a silent server, with a one-second timeout.
async fn hedging_backend(after: Option<Duration>, budget_percent: u32) -> Arc<Backends> {
    let mut config = BackendConfig::new("slow", silent_server().await);
    config.timeout = Duration::from_secs(1);
    config.hedge = HedgeConfig {
        enabled: true,
        after,
    };
    config.retry = RetryConfig {
        attempts: 1,
        budget_percent,
    };
    Arc::new(Backends::new(vec![config]).expect("valid"))
}

fn scope() -> Arc<RequestScope> {
    Arc::new(RequestScope::new(
        "test",
        Instant::now() + Duration::from_secs(60),
    ))
}

#[tokio::test(start_paused = true)]
async fn a_hedged_attempt_ends_when_the_first_attempt_would() {
    let backends = hedging_backend(Some(Duration::from_millis(100)), 100).await;
    let started = Instant::now();
    let error = backends
        .call(&scope(), request("GET", "/a"))
        .await
        .expect_err("never answers");
    assert_eq!(error.kind, BackendErrorKind::Timeout);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(1),
        "the hedge did not stretch the call past the first attempt's timeout"
    );
    let view = &backends.view()[0];
    assert_eq!(view.attempts, 2);
    assert_eq!(
        view.hedges,
        HedgesView {
            sent: 1,
            won: 0,
            denied: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn hedges_spend_the_retry_budget_and_none_is_sent_when_it_is_empty() {
    // Each call deposits half a token: every second call finds a whole one.
    let backends = hedging_backend(Some(Duration::from_millis(100)), 50).await;
    for path in ["/a", "/b", "/c", "/d"] {
        let _ = backends.call(&scope(), request("GET", path)).await;
    }
    let view = &backends.view()[0];
    assert_eq!(
        view.hedges,
        HedgesView {
            sent: 2,
            won: 0,
            denied: 2
        }
    );
    assert_eq!(view.attempts, 6);
}

#[tokio::test(start_paused = true)]
async fn only_idempotent_calls_are_hedged_and_only_with_a_delay() {
    let backends = hedging_backend(Some(Duration::from_millis(100)), 100).await;
    let _ = backends.call(&scope(), request("POST", "/a")).await;
    assert_eq!(backends.view()[0].attempts, 1, "a POST is sent once");
    // No fixed delay and no answers seen yet: no estimate, no hedge.
    let backends = hedging_backend(None, 100).await;
    let _ = backends.call(&scope(), request("GET", "/a")).await;
    let view = &backends.view()[0];
    assert_eq!(view.attempts, 1);
    assert_eq!(view.hedges.sent + view.hedges.denied, 0);
}
