//! Which requests a ring keeps, its bound, and how it is queried.

use super::*;
use crate::requests::filter::StatusFilter;

fn config(per_adapter: usize, sample_one_in: u32) -> RecentConfig {
    RecentConfig {
        per_adapter,
        slow: Duration::from_millis(500),
        sample_one_in,
    }
}

fn entry(adapter: &str, id: &str, status: u16, at: u64) -> RecentRequest {
    RecentRequest {
        request_id: id.into(),
        at_unix_ms: at,
        adapter: adapter.into(),
        version: "1.0.0".into(),
        method: "GET".into(),
        route: Some("/t".into()),
        status,
        latency_us: 10,
        kept: Kept::Error,
        trace_id: None,
        calls: Vec::new(),
    }
}

fn filter(adapter: Option<&str>, status: Option<StatusFilter>, limit: usize) -> RequestFilter {
    RequestFilter {
        adapter: adapter.map(str::to_owned),
        status,
        limit,
    }
}

#[test]
fn errors_failed_calls_and_slow_requests_are_always_kept() {
    let recent = RecentRequests::new(config(8, 0));
    let fast = Duration::from_millis(1);
    assert_eq!(recent.keep(500, fast, false), Some(Kept::Error));
    assert_eq!(recent.keep(404, fast, false), Some(Kept::Error));
    assert_eq!(recent.keep(200, fast, true), Some(Kept::Error));
    assert_eq!(
        recent.keep(200, Duration::from_millis(500), false),
        Some(Kept::Slow)
    );
    assert_eq!(recent.keep(200, fast, false), None, "sampling is off");
}

#[test]
fn one_in_n_of_the_rest_is_sampled() {
    let recent = RecentRequests::new(config(8, 4));
    let kept: Vec<bool> = (0..12)
        .map(|_| recent.keep(200, Duration::from_millis(1), false).is_some())
        .collect();
    assert_eq!(kept.iter().filter(|kept| **kept).count(), 3, "{kept:?}");
    assert_eq!(
        kept,
        [true, false, false, false].repeat(3),
        "every fourth, starting with the first"
    );
    let everything = RecentRequests::new(config(8, 1));
    assert!((0..5).all(|_| everything.keep(200, Duration::ZERO, false) == Some(Kept::Sampled)));
}

#[test]
fn a_ring_of_zero_keeps_nothing() {
    let recent = RecentRequests::new(config(0, 1));
    assert_eq!(recent.keep(500, Duration::ZERO, true), None);
}

#[test]
fn each_adapter_ring_is_bounded_and_evicts_the_oldest() {
    let recent = RecentRequests::new(config(3, 1));
    for i in 0..5 {
        recent.push(entry("tv", &format!("tv-{i}"), 500, i));
    }
    recent.push(entry("mobile", "m-0", 200, 10));
    let tv = recent.query(&filter(Some("tv"), None, 100));
    let ids: Vec<&str> = tv.iter().map(|e| e.request_id.as_str()).collect();
    assert_eq!(
        ids,
        ["tv-4", "tv-3", "tv-2"],
        "newest first, oldest evicted"
    );
    assert!(recent.find("tv-0").is_none());
    assert_eq!(recent.find("m-0").expect("kept").adapter, "mobile");
}

#[test]
fn queries_filter_by_status_and_limit() {
    let recent = RecentRequests::new(config(10, 1));
    recent.push(entry("tv", "a", 200, 1));
    recent.push(entry("tv", "b", 503, 2));
    recent.push(entry("tv", "c", 500, 3));
    recent.push(entry("tv", "d", 404, 4));
    let ids = |f: RequestFilter| -> Vec<String> {
        recent.query(&f).into_iter().map(|e| e.request_id).collect()
    };
    assert_eq!(
        ids(filter(None, Some(StatusFilter::Class(5)), 10)),
        ["c", "b"]
    );
    assert_eq!(ids(filter(None, Some(StatusFilter::Exact(503)), 10)), ["b"]);
    assert_eq!(ids(filter(None, None, 2)), ["d", "c"]);
    assert!(ids(filter(Some("mobile"), None, 10)).is_empty());
}

#[test]
fn a_reused_id_finds_the_newest() {
    let recent = RecentRequests::new(config(10, 1));
    recent.push(entry("tv", "same", 500, 1));
    recent.push(entry("mobile", "same", 502, 2));
    assert_eq!(recent.find("same").expect("kept").status, 502);
}

#[test]
fn requests_ending_in_the_same_millisecond_are_listed_newest_first() {
    let recent = RecentRequests::new(RecentConfig::default());
    for (id, ms) in [("a", 7), ("b", 8), ("c", 8), ("d", 8)] {
        recent.push(entry("echo", id, 500, ms));
    }
    let ids: Vec<String> = recent
        .query(&RequestFilter {
            adapter: None,
            status: None,
            limit: 10,
        })
        .into_iter()
        .map(|entry| entry.request_id)
        .collect();
    assert_eq!(ids, ["d", "c", "b", "a"]);
}
