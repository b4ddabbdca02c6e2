//! One call per key in flight, whoever waits for it and whoever stops waiting; and a
//! backend's followers bounded by their own deadline. Events are ordered by channels, time
//! is tokio's paused clock.

use std::sync::atomic::{AtomicUsize, Ordering};

use abi_stable::std_types::{RString, RVec};
use frontdoor_plugin_api::BackendRequest;
use tokio::{
    net::TcpListener,
    time::{Duration, Instant},
};

use super::*;
use crate::backends::{BackendConfig, Backends, RequestScope};

type Flights = SingleFlight<&'static str, u32>;

/// A call that counts its starts and answers `value` once `release` fires.
fn gated_call(
    starts: &Arc<AtomicUsize>,
    release: oneshot::Receiver<u32>,
) -> impl FnOnce() -> BoxFuture<'static, u32> {
    let starts = starts.clone();
    move || {
        starts.fetch_add(1, Ordering::SeqCst);
        async move { release.await.unwrap_or(0) }.boxed()
    }
}

#[tokio::test]
async fn callers_of_one_key_share_one_call_and_the_next_starts_afresh() {
    let flights = Flights::new();
    let runtime = Handle::current();
    let starts = Arc::new(AtomicUsize::new(0));
    let (release, released) = oneshot::channel();
    let (leader, role) = flights.join_or_start("t", &runtime, gated_call(&starts, released));
    assert_eq!(role, Role::Leader);
    let mut followers = Vec::new();
    for _ in 0..4 {
        let (_, unused) = oneshot::channel();
        let (answer, role) = flights.join_or_start("t", &runtime, gated_call(&starts, unused));
        assert_eq!(role, Role::Follower);
        followers.push(answer);
    }
    let (_u_answer, other) = oneshot::channel::<u32>();
    let (_, role) =
        flights.join_or_start("u", &runtime, || async move { other.await.unwrap_or(0) });
    assert_eq!(role, Role::Leader, "another key is another call");
    assert_eq!(
        starts.load(Ordering::SeqCst),
        1,
        "followers never start a call"
    );

    release.send(7).expect("the call waits");
    assert_eq!(leader.await, Some(7));
    for follower in followers {
        assert_eq!(follower.await, Some(7));
    }
    assert_eq!(flights.in_flight(), 1, "only `u` is still in flight");
    let (release, released) = oneshot::channel();
    let (answer, role) = flights.join_or_start("t", &runtime, gated_call(&starts, released));
    assert_eq!(role, Role::Leader, "an ended call's answer is not kept");
    release.send(8).expect("the call waits");
    assert_eq!(answer.await, Some(8));
    assert_eq!(starts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_leader_giving_up_does_not_cancel_the_call_of_its_followers() {
    let flights = Flights::new();
    let runtime = Handle::current();
    let starts = Arc::new(AtomicUsize::new(0));
    let (release, released) = oneshot::channel();
    let (leader, _) = flights.join_or_start("t", &runtime, gated_call(&starts, released));
    let (_, unused) = oneshot::channel();
    let (follower, role) = flights.join_or_start("t", &runtime, gated_call(&starts, unused));
    assert_eq!(role, Role::Follower);
    // The leader's device request is dropped while the call is under way.
    let leader_wait = tokio::spawn(leader);
    tokio::task::yield_now().await;
    leader_wait.abort();
    assert!(leader_wait.await.expect_err("aborted").is_cancelled());
    release
        .send(7)
        .expect("the call is still waiting for its answer");
    assert_eq!(follower.await, Some(7));
    assert_eq!(starts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_call_that_ends_without_an_answer_frees_its_key() {
    let flights = Flights::new();
    let runtime = Handle::current();
    let (release, released) = oneshot::channel::<()>();
    let (leader, _) = flights.join_or_start("t", &runtime, || async move {
        if released.await.is_ok() {
            panic!("the call's task dies");
        }
        0
    });
    let (follower, role) = flights.join_or_start("t", &runtime, || async { 1 });
    assert_eq!(role, Role::Follower);
    release.send(()).expect("the call waits");
    assert_eq!(leader.await, None);
    assert_eq!(follower.await, None);
    assert_eq!(flights.in_flight(), 0, "a dead call leaves no entry behind");
    let (answer, role) = flights.join_or_start("t", &runtime, || async { 2 });
    assert_eq!(role, Role::Leader);
    assert_eq!(answer.await, Some(2));
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

fn get(path: &str) -> BackendRequest {
    BackendRequest {
        backend: RString::from("titles"),
        method: RString::from("GET"),
        path: RString::from(path),
        headers: RVec::new(),
        body: RVec::new(),
    }
}

#[tokio::test(start_paused = true)]
async fn each_caller_waits_until_its_own_deadline_and_no_caller_cuts_the_call_short() {
    let mut config = BackendConfig::new("titles", silent_server().await);
    config.timeout = Duration::from_secs(5);
    config.share_in_flight = true;
    let backends = Arc::new(Backends::new(vec![config]).expect("valid"));
    let started = Instant::now();
    let call = |deadline: Duration| {
        let backends = backends.clone();
        let scope = Arc::new(RequestScope::new("tv", started + deadline));
        tokio::spawn(async move { backends.call(&scope, get("/titles/1")).await })
    };
    // The leader has the least time left; the followers join once its call is in flight.
    let leader = call(Duration::from_secs(1));
    let shared_calls = backends.by_name["titles"]
        .shared_calls
        .as_ref()
        .expect("the backend shares its calls");
    for _ in 0..100 {
        if shared_calls.in_flight() > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        shared_calls.in_flight(),
        1,
        "the leader's call is in flight"
    );
    let short = call(Duration::from_secs(3));
    let long = call(Duration::from_secs(60));
    for (caller, ends_at) in [(leader, 1), (short, 3), (long, 5)] {
        let error = caller
            .await
            .expect("the caller ran")
            .expect_err("the silent backend never answers");
        assert_eq!(error.kind, BackendErrorKind::Timeout);
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(ends_at),
            "its own deadline, or the backend's timeout when that comes first"
        );
    }
    let view = &backends.view()[0];
    assert_eq!(view.attempts, 1, "one call went out for all three");
    assert_eq!(view.shared, 2);
    assert_eq!(view.totals.timeout, 3, "each caller counted its own call");
}
