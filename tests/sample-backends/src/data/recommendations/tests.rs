//! Row selection and the query rules.

use std::collections::BTreeSet;

use super::*;
use crate::data::catalog;

fn rows_of(path: &str) -> Vec<serde_json::Value> {
    let reply = answer(&Call::get(path));
    assert_eq!(reply.status, 200, "{path}: {}", reply.value());
    reply.value()["rows"].as_array().expect("rows").clone()
}

#[test]
fn four_rows_of_ten_catalog_titles_by_default() {
    let rows = rows_of("/rows?profile=7");
    assert_eq!(rows.len(), DEFAULT_ROWS);
    for (row, name) in rows.iter().zip(ROW_NAMES) {
        assert_eq!(row["name"], name);
        let ids: Vec<u64> = row["title_ids"]
            .as_array()
            .expect("ids")
            .iter()
            .filter_map(serde_json::Value::as_u64)
            .collect();
        assert_eq!(ids.len(), TITLES_PER_ROW);
        assert!(ids.iter().all(|&id| catalog::find(id).is_some()));
        assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), TITLES_PER_ROW);
    }
}

#[test]
fn rows_match_the_w2_home_page() {
    let home: serde_json::Value =
        serde_json::from_slice(&frontdoor_workloads::home("profile=12").expect("a valid profile"))
            .expect("home is JSON");
    let rows = rows(12, 4);
    for (ours, theirs) in rows.rows.iter().zip(home["rows"].as_array().expect("rows")) {
        assert_eq!(ours.name, theirs["name"]);
        let their_ids: Vec<u64> = theirs["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|item| item["id"].as_u64())
            .collect();
        assert_eq!(ours.title_ids, their_ids);
    }
}

#[test]
fn deterministic_per_profile_and_different_across_profiles() {
    assert_eq!(rows(3, 10), rows(3, 10));
    assert_ne!(rows(3, 1).rows[0].title_ids, rows(4, 1).rows[0].title_ids);
    assert_eq!(rows_of("/rows?profile=3&count=10").len(), 10);
    assert_eq!(rows_of("/rows?count=1&profile=3").len(), 1);
}

#[test]
fn bad_queries() {
    for path in [
        "/rows",
        "/rows?profile=x",
        "/rows?profile=1&count=0",
        "/rows?profile=1&count=11",
        "/rows?profile=1&count=-1",
    ] {
        assert_eq!(answer(&Call::get(path)).status, 400, "{path}");
    }
    assert_eq!(answer(&Call::get("/rows?profile=1000")).status, 404);
}
