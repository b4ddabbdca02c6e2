//! Id parsing and the hash the fake data is picked with.

use super::*;

#[test]
fn ids_are_plain_digits() {
    assert_eq!(parse_id::<u64>("80000001", "title id"), Ok(80_000_001));
    assert_eq!(parse_id::<u32>("0", "profile id"), Ok(0));
    for raw in [
        "",
        "+1",
        "-1",
        " 1",
        "1a",
        "0x10",
        "99999999999999999999999",
    ] {
        let reply = parse_id::<u64>(raw, "title id").expect_err(raw);
        assert_eq!(reply.status, 400, "{raw:?}");
    }
    assert_eq!(
        parse_id::<u32>("4294967296", "profile id")
            .expect_err("overflow")
            .value()["error"],
        "bad profile id \"4294967296\""
    );
}

#[test]
fn hash_is_fnv1a() {
    assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
}

#[test]
fn every_service_answers_unknown_paths_with_404() {
    let state = State::default();
    for service in Service::ALL {
        let reply = answer(service, &state, &Call::get("/nope"), 0);
        assert_eq!(reply.status, 404, "{service}");
        assert_eq!(reply.value()["error"], "not found");
    }
}
