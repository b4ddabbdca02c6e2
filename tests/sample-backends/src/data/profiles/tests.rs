//! Profile documents and the profile id rules every service shares.

use super::*;

#[test]
fn a_profile_has_every_field() {
    let reply = answer(&Call::get("/profiles/42"));
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.value(),
        serde_json::json!({
            "id": 42,
            "name": "Grace",
            "maturity_level": "PG-13",
            "language": "es-MX",
            "avatar_url": "https://img.example.test/avatars/26.png",
        })
    );
}

#[test]
fn profiles_are_deterministic_and_varied() {
    assert_eq!(profile(7), profile(7));
    assert_eq!(profile(4).name, "Kids");
    assert_eq!(profile(4).maturity_level, "G");
    let names: std::collections::BTreeSet<_> = (0..PROFILES).map(|id| profile(id).name).collect();
    assert!(names.len() > 10);
}

#[test]
fn ids_from_0_to_999_exist() {
    assert_eq!(answer(&Call::get("/profiles/0")).status, 200);
    assert_eq!(answer(&Call::get("/profiles/999")).status, 200);
    let unknown = answer(&Call::get("/profiles/1000"));
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.value()["error"], "unknown profile 1000");
    assert_eq!(answer(&Call::get("/profiles/me")).status, 400);
    assert_eq!(answer(&Call::get("/profiles")).status, 404);
}
