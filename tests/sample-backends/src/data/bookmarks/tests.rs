//! Seeds, writes overriding them, and the input rules.

use bytes::Bytes;
use hyper::Method;

use super::*;

const NOW_MS: u64 = 1_800_000_000_000;

fn put_call(path: &str, body: &str) -> Call {
    Call {
        method: Method::PUT,
        body: Bytes::from(body.to_owned()),
        ..Call::get(path)
    }
}

fn items(store: &Store, profile: u32) -> Vec<(u64, u64)> {
    store
        .list(profile)
        .iter()
        .map(|bookmark| (bookmark.title_id, bookmark.position_s))
        .collect()
}

#[test]
fn every_profile_has_a_deterministic_seed() {
    for profile in [0, 1, 500, 999] {
        let seed = seed(profile);
        assert_eq!(seed, super::seed(profile));
        assert_eq!(seed.len(), SEEDED);
        for bookmark in &seed {
            let title = catalog::find(bookmark.title_id).expect("a catalog title");
            assert!(bookmark.position_s < u64::from(title.runtime_min) * 60);
        }
        assert!(
            seed.windows(2)
                .all(|pair| pair[0].updated_ms > pair[1].updated_ms)
        );
        let continue_watching = &recommendations::rows(profile, 1).rows[0].title_ids;
        assert!(
            seed.iter()
                .all(|bookmark| continue_watching.contains(&bookmark.title_id))
        );
    }
}

#[test]
fn get_lists_the_seed() {
    let store = Store::default();
    let reply = answer(&store, &Call::get("/bookmarks/5"), NOW_MS);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.value()["profile"], 5);
    assert_eq!(
        reply.value()["items"],
        serde_json::to_value(seed(5)).expect("bookmarks serialize")
    );
    assert_eq!(
        reply.value()["items"][0]
            .as_object()
            .expect("a bookmark")
            .keys()
            .collect::<Vec<_>>(),
        ["position_s", "title_id", "updated_ms"]
    );
}

#[test]
fn writes_override_the_seed_and_come_first() {
    let store = Store::default();
    let seeded = seed(5)[1];
    let path = format!("/bookmarks/5/{}", seeded.title_id);
    let reply = answer(&store, &put_call(&path, r#"{"position_s": 12}"#), NOW_MS);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.value(), serde_json::json!({ "ok": true }));
    let reply = answer(
        &store,
        &put_call(
            "/bookmarks/5/80000150",
            r#"{"position_s": 0, "device": "tv"}"#,
        ),
        NOW_MS + 1,
    );
    assert_eq!(reply.status, 200);

    let listed = store.list(5);
    assert_eq!(listed.len(), SEEDED + 1);
    assert_eq!(
        listed[0],
        Bookmark {
            title_id: 80_000_150,
            position_s: 0,
            updated_ms: NOW_MS + 1
        }
    );
    assert_eq!(
        listed[1],
        Bookmark {
            title_id: seeded.title_id,
            position_s: 12,
            updated_ms: NOW_MS
        }
    );
    // Other profiles keep their seed.
    assert_eq!(store.list(6), seed(6));
    assert_eq!(items(&store, 4), items(&Store::default(), 4));
}

#[test]
fn bad_writes_are_refused() {
    let store = Store::default();
    for (path, body, status) in [
        ("/bookmarks/5/80000001", "", 400),
        ("/bookmarks/5/80000001", "{}", 400),
        ("/bookmarks/5/80000001", r#"{"position_s": -3}"#, 400),
        ("/bookmarks/5/80000001", r#"{"position_s": "7"}"#, 400),
        ("/bookmarks/5/80000001", r#"{"position_s": 999999}"#, 400),
        ("/bookmarks/x/80000001", r#"{"position_s": 1}"#, 400),
        ("/bookmarks/5/x", r#"{"position_s": 1}"#, 400),
        ("/bookmarks/1000/80000001", r#"{"position_s": 1}"#, 404),
        ("/bookmarks/5/80000200", r#"{"position_s": 1}"#, 404),
    ] {
        let reply = answer(&store, &put_call(path, body), NOW_MS);
        assert_eq!(reply.status, status, "{path} {body}: {}", reply.value());
    }
    assert_eq!(store.list(5), seed(5));
    assert_eq!(
        answer(&store, &Call::get("/bookmarks/1000"), NOW_MS).status,
        404
    );
    assert_eq!(
        answer(&store, &Call::get("/bookmarks/5/80000001"), NOW_MS).status,
        405
    );
}
