//! Where a request is counted, from how far it got and its status.

use super::*;

fn series() -> &'static VersionSeries {
    VersionSeries::leak(vec!["GET /a".into(), "POST /b/{id}".into()])
}

fn counts(route: &RouteSeries) -> Vec<(&'static str, u64)> {
    route.status_counts().collect()
}

#[test]
fn a_routed_request_counts_in_its_route_by_status_class() {
    let series = series();
    let unrouted = UnroutedCounters::default();
    for status in [
        StatusCode::OK,
        StatusCode::OK,
        StatusCode::INTERNAL_SERVER_ERROR,
    ] {
        let mut tally = RequestTally::start();
        tally.adapter_found();
        tally.version_chosen(series);
        tally.route_matched(1);
        tally.finish(status, tally_elapsed(), &unrouted);
    }
    assert_eq!(counts(series.route(1)), [("2xx", 2), ("5xx", 1)]);
    assert_eq!(series.route(1).latency().snapshot().count, 3);
    assert!(series.route(0).latency().is_empty());
    assert!(UnroutedReason::ALL.iter().all(|r| unrouted.get(*r) == 0));
}

#[test]
fn a_request_no_route_took_counts_as_unmatched() {
    let series = series();
    let unrouted = UnroutedCounters::default();
    for status in [StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED] {
        let mut tally = RequestTally::start();
        tally.adapter_found();
        tally.version_chosen(series);
        tally.finish(status, tally_elapsed(), &unrouted);
    }
    let labels: Vec<&str> = series.all().map(RouteSeries::label).collect();
    assert_eq!(labels, ["GET /a", "POST /b/{id}", UNMATCHED_ROUTE]);
    let unmatched = series.all().last().expect("unmatched series");
    assert_eq!(counts(unmatched), [("4xx", 2)]);
    // An index the router never gives lands there too instead of panicking.
    assert_eq!(series.route(7).label(), UNMATCHED_ROUTE);
}

#[test]
fn a_request_answered_before_a_version_counts_by_reason() {
    let unrouted = UnroutedCounters::default();
    let finish = |adapter_found: bool, status: StatusCode| {
        let mut tally = RequestTally::start();
        if adapter_found {
            tally.adapter_found();
        }
        tally.finish(status, tally_elapsed(), &unrouted);
    };
    finish(false, StatusCode::BAD_REQUEST);
    finish(false, StatusCode::NOT_FOUND);
    finish(false, StatusCode::NOT_FOUND);
    finish(true, StatusCode::NOT_FOUND);
    finish(true, StatusCode::SERVICE_UNAVAILABLE);
    let read: Vec<(&str, u64)> = UnroutedReason::ALL
        .iter()
        .map(|reason| (reason.as_str(), unrouted.get(*reason)))
        .collect();
    assert_eq!(
        read,
        [
            ("bad_version_header", 1),
            ("no_adapter", 2),
            ("no_matching_version", 1),
            ("quarantined", 1)
        ]
    );
}

#[test]
fn a_route_mark_without_a_version_is_ignored() {
    let unrouted = UnroutedCounters::default();
    let mut tally = RequestTally::start();
    tally.route_matched(0);
    tally.finish(StatusCode::NOT_FOUND, tally_elapsed(), &unrouted);
    assert_eq!(unrouted.get(UnroutedReason::NoAdapter), 1);
}

/// A latency for counted requests: these tests look at where a request is counted, not how long
/// it took.
fn tally_elapsed() -> std::time::Duration {
    std::time::Duration::from_micros(250)
}
