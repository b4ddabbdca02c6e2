use hyper::{HeaderMap, header::COOKIE};

use super::{MAX_SESSIONS, Sessions, set_cookie};
use crate::control::AuthConfig;

fn principal() -> crate::control::Principal {
    AuthConfig::default().login("").expect("open host").0
}

fn with_cookie(id: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        COOKIE,
        format!("other=1; frontdoor_console={id}")
            .parse()
            .expect("header"),
    );
    headers
}

#[test]
fn a_session_is_found_by_its_cookie_and_checks_its_csrf_token() {
    let sessions = Sessions::default();
    let id = sessions.open(principal(), "loopback".into()).expect("open");
    assert_eq!(id.len(), 32);
    let session = sessions.find(&with_cookie(&id)).expect("found");
    assert!(session.csrf_matches(Some(&session.csrf.clone())));
    assert!(!session.csrf_matches(None));
    assert!(!session.csrf_matches(Some("")));
    assert!(!session.csrf_matches(Some(&session.csrf[..31])));
    assert!(!session.csrf_matches(Some(&"0".repeat(32))));
    // Another session's token is not this one's.
    let other = sessions.open(principal(), "loopback".into()).expect("open");
    let other = sessions.find(&with_cookie(&other)).expect("found");
    assert!(!session.csrf_matches(Some(&other.csrf)));
    assert_ne!(session.csrf, other.csrf);
}

#[test]
fn unknown_malformed_and_closed_sessions_are_not_found() {
    let sessions = Sessions::default();
    assert!(sessions.find(&with_cookie(&"a".repeat(32))).is_none());
    assert!(sessions.find(&with_cookie("../../etc")).is_none());
    assert!(sessions.find(&HeaderMap::new()).is_none());
    let id = sessions.open(principal(), "loopback".into()).expect("open");
    sessions.close(&with_cookie(&id));
    assert!(sessions.find(&with_cookie(&id)).is_none());
}

#[test]
fn the_table_is_bounded() {
    let sessions = Sessions::default();
    for _ in 0..MAX_SESSIONS + 5 {
        sessions.open(principal(), "loopback".into()).expect("open");
    }
    assert_eq!(sessions.len(), MAX_SESSIONS);
}

#[test]
fn the_cookie_is_http_only_strict_and_scoped() {
    let cookie = set_cookie("0123");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Strict"));
    assert!(cookie.contains("Path=/console"));
}
