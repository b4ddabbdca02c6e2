//! Title lookups, batches and synopses.

use super::*;

#[test]
fn a_title_carries_the_catalog_fields_and_a_synopsis() {
    let reply = answer(&Call::get("/titles/80000007"));
    assert_eq!(reply.status, 200);
    let entry = &CATALOG[7];
    assert_eq!(reply.value()["id"], 80_000_007);
    assert_eq!(reply.value()["title"], entry.title.as_str());
    assert_eq!(reply.value()["year"], entry.year);
    assert_eq!(reply.value()["maturity"], entry.maturity);
    assert_eq!(reply.value()["genres"], serde_json::json!(entry.genres));
    assert_eq!(reply.value()["runtime_min"], entry.runtime_min);
    assert_eq!(reply.value()["synopsis"], synopsis(80_000_007));
    let fields = reply.value().as_object().expect("an object").len();
    assert_eq!(fields, 7);
    // Fields come in the documented order, which is what a person reading curl output sees.
    let text = String::from_utf8_lossy(&reply.body);
    assert!(
        text.starts_with(r#"{"id":80000007,"title":"Title 7","year":"#),
        "{text}"
    );
    assert!(
        text.contains(r#""runtime_min":"#) && text.ends_with(".\"}"),
        "{text}"
    );
}

#[test]
fn answers_are_deterministic() {
    for path in [
        "/titles/80000000",
        "/titles/80000199",
        "/titles?ids=80000003,80000004",
    ] {
        assert_eq!(answer(&Call::get(path)), answer(&Call::get(path)));
    }
    assert_eq!(synopsis(80_000_001), synopsis(80_000_001));
    let distinct: std::collections::BTreeSet<String> =
        (FIRST_ID..FIRST_ID + 200).map(synopsis).collect();
    assert!(distinct.len() > 100, "only {} synopses", distinct.len());
}

#[test]
fn unknown_and_bad_ids() {
    let unknown = answer(&Call::get("/titles/80000200"));
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.value()["error"], "unknown title 80000200");
    assert_eq!(answer(&Call::get("/titles/7")).status, 404);
    assert_eq!(answer(&Call::get("/titles/abc")).status, 400);
    assert!(find(FIRST_ID - 1).is_none());
    assert_eq!(find(FIRST_ID + 199).map(|title| title.id), Some(80_000_199));
}

#[test]
fn batches_keep_order_and_skip_unknown_ids() {
    let reply = answer(&Call::get("/titles?ids=80000005,1,80000002%2C80000005,"));
    assert_eq!(reply.status, 200);
    let ids: Vec<u64> = reply.value()["titles"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|title| title["id"].as_u64())
        .collect();
    assert_eq!(ids, [80_000_005, 80_000_002, 80_000_005]);
    let empty = answer(&Call::get("/titles?ids="));
    assert_eq!(empty.value(), serde_json::json!({ "titles": [] }));
}

#[test]
fn bad_batches_are_refused() {
    assert_eq!(answer(&Call::get("/titles")).status, 400);
    assert_eq!(answer(&Call::get("/titles?ids=1,x")).status, 400);
    let too_many = vec!["80000000"; MAX_IDS + 1].join(",");
    assert_eq!(
        answer(&Call::get(&format!("/titles?ids={too_many}"))).status,
        400
    );
    let enough = vec!["80000000"; MAX_IDS].join(",");
    assert_eq!(
        answer(&Call::get(&format!("/titles?ids={enough}"))).status,
        200
    );
}

#[test]
fn wrong_methods_and_paths() {
    let mut call = Call::get("/titles/80000001");
    call.method = hyper::Method::DELETE;
    assert_eq!(answer(&call).status, 405);
    assert_eq!(answer(&Call::get("/titles/1/2")).status, 404);
}
