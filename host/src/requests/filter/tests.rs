//! The query of `/admin/requests`: what is accepted, and bad parameters named.

use super::*;

#[test]
fn defaults_and_every_parameter() {
    assert_eq!(
        RequestFilter::parse(None).expect("valid"),
        RequestFilter {
            adapter: None,
            status: None,
            limit: DEFAULT_LIMIT
        }
    );
    let filter = RequestFilter::parse(Some("adapter=tv&status=5xx&limit=7")).expect("valid");
    assert_eq!(filter.adapter.as_deref(), Some("tv"));
    assert_eq!(filter.status, Some(StatusFilter::Class(5)));
    assert_eq!(filter.limit, 7);
    let exact = RequestFilter::parse(Some("status=404")).expect("valid");
    assert_eq!(exact.status, Some(StatusFilter::Exact(404)));
    assert!(StatusFilter::Class(4).matches(404) && !StatusFilter::Class(4).matches(500));
}

#[test]
fn bad_parameters_are_named() {
    for (query, param) in [
        ("status=6xx", "status"),
        ("status=abc", "status"),
        ("status=99", "status"),
        ("status=600", "status"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=many", "limit"),
        ("adapter=", "adapter"),
        ("adapter=../x", "adapter"),
        ("colour=red", "colour"),
    ] {
        let bad = RequestFilter::parse(Some(query)).expect_err(query);
        assert_eq!(bad.param, param, "{query}");
    }
}
