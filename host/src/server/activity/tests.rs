//! A connection's phases and the deadlines they set, on the paused clock.

use std::time::Duration;

use tokio::time::{Instant, advance};

use super::*;

fn limits() -> ListenerConfig {
    ListenerConfig {
        header_read_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        ..ListenerConfig::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_new_connection_has_until_the_header_timeout_for_its_first_head() {
    let activity = Activity::new();
    let opened = Instant::now();
    advance(Duration::from_secs(3)).await;
    activity.bytes_read(b"GET / HT");
    assert_eq!(
        activity.deadline(&limits()),
        Some((opened + Duration::from_secs(10), Expiry::HeadTimeout)),
        "the first head's clock starts at accept, not at its first byte"
    );
}

#[tokio::test(start_paused = true)]
async fn serving_has_no_deadline_and_idleness_starts_when_the_last_request_ends() {
    let activity = Activity::new();
    activity.bytes_read(b"GET / HTTP/1.1\r\n\r\n");
    let first = RequestGuard::start(&activity);
    let second = RequestGuard::start(&activity);
    assert_eq!(activity.deadline(&limits()), None);
    drop(first);
    assert_eq!(activity.deadline(&limits()), None, "one request still runs");
    advance(Duration::from_secs(1)).await;
    drop(second);
    let ended = Instant::now();
    assert_eq!(
        activity.deadline(&limits()),
        Some((ended + Duration::from_secs(60), Expiry::Idle))
    );
}

#[tokio::test(start_paused = true)]
async fn on_http1_the_next_heads_first_byte_starts_the_header_clock() {
    let activity = Activity::new();
    activity.bytes_read(b"GET / HTTP/1.1\r\n\r\n");
    drop(RequestGuard::start(&activity));
    advance(Duration::from_secs(30)).await;
    activity.bytes_read(b"G");
    let started = Instant::now();
    assert_eq!(
        activity.deadline(&limits()),
        Some((started + Duration::from_secs(10), Expiry::HeadTimeout)),
        "a slow head after an idle spell gets the header timeout, not the idle one"
    );
}

#[tokio::test(start_paused = true)]
async fn on_http2_reads_alone_do_not_end_idleness() {
    let activity = Activity::new();
    activity.bytes_read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    drop(RequestGuard::start(&activity));
    let idle_since = Instant::now();
    advance(Duration::from_secs(30)).await;
    // A PING or WINDOW_UPDATE frame: not a request.
    activity.bytes_read(&[0, 0, 8, 6, 0, 0, 0, 0, 0]);
    assert_eq!(
        activity.deadline(&limits()),
        Some((idle_since + Duration::from_secs(60), Expiry::Idle))
    );
}

#[tokio::test(start_paused = true)]
async fn hyper_may_answer_only_on_http1_with_nothing_in_progress_once_flushed() {
    let activity = Activity::new();
    assert!(!activity.hyper_may_answer(), "protocol not known yet");
    activity.bytes_read(b"GET / HTTP/1.1\r\n");
    assert!(activity.hyper_may_answer(), "nothing served yet on HTTP/1");
    let request = RequestGuard::start(&activity);
    activity.flushed();
    assert!(!activity.hyper_may_answer(), "a request is in progress");
    drop(request);
    assert!(
        !activity.hyper_may_answer(),
        "its answer may not be flushed yet"
    );
    activity.flushed();
    assert!(activity.hyper_may_answer());

    let http2 = Activity::new();
    http2.bytes_read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    http2.flushed();
    assert!(!http2.hyper_may_answer(), "never on HTTP/2");
}

#[test]
fn requests_started_and_ended_on_many_threads_at_once_all_count() {
    const THREADS: usize = 4;
    const REQUESTS: usize = 20_000;
    let activity = Activity::new();
    activity.bytes_read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    let held = RequestGuard::start(&activity);
    let start = std::sync::Barrier::new(THREADS);
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                start.wait();
                for _ in 0..REQUESTS {
                    let request = RequestGuard::start(&activity);
                    activity.flushed();
                    drop(request);
                }
            });
        }
    });
    assert_eq!(activity.lock().active, 1, "only the held request is left");
    assert_eq!(activity.deadline(&limits()), None);
    drop(held);
    assert_eq!(activity.lock().active, 0);
    assert_eq!(activity.lock().phase, Phase::Idle);
    assert!(activity.deadline(&limits()).is_some());
}
