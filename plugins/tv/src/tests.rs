//! The tv home page with the test kit: fake sample backends, a fake artwork module, and
//! each fallback.

use std::time::Duration;

use artwork_api::{Artwork, ArtworkModule};
use frontdoor_plugin_api::{
    HandlerErrorKind, ModuleCallError,
    abi_stable::std_types::RString,
    serde_json::{Value, json},
    testkit::{BackendCall, Reply, TestKit},
};
use samples::{Bookmark, Bookmarks, Profile, Row, Rows, Title, Titles};

use super::POPULAR;

/// Every fake backend answers after this much virtual time.
const LATENCY: Duration = Duration::from_millis(10);

struct Urls;

impl ArtworkModule for Urls {
    fn boxart_url(title_id: u64, width: u32) -> Result<RString, ModuleCallError> {
        Ok(format!("boxart/w{width}/{title_id}").into())
    }
    fn hero_url(title_id: u64) -> Result<RString, ModuleCallError> {
        Ok(format!("hero/{title_id}").into())
    }
}

struct Failing;

impl ArtworkModule for Failing {
    fn boxart_url(_title_id: u64, _width: u32) -> Result<RString, ModuleCallError> {
        Err(ModuleCallError::failed("no artwork today"))
    }
    fn hero_url(_title_id: u64) -> Result<RString, ModuleCallError> {
        panic!("hero_url panicked");
    }
}

fn title(id: u64) -> Title {
    Title {
        id,
        title: format!("Title {id}"),
        year: 2001,
        maturity: "PG".into(),
        genres: vec!["Drama".into()],
        runtime_min: 90,
        synopsis: String::new(),
    }
}

/// The titles a catalog batch call asks for (`/titles?ids=1,2,3`).
fn batch(call: &BackendCall) -> Reply {
    let ids = call.path.split_once("ids=").map_or("", |(_, ids)| ids);
    let titles = ids.split(',').filter_map(|id| id.parse().ok()).map(title);
    Reply::json(&Titles {
        titles: titles.collect(),
    })
    .after(LATENCY)
}

/// Profile 42 with every backend up: two recommended rows besides the recommendations'
/// own "Continue Watching" (which tv replaces with its own), one bookmark.
fn kit() -> TestKit {
    let mut kit = TestKit::new(crate::__frontdoor_adapter());
    kit.module(Artwork::implemented_by::<Urls>());
    let profile = Profile {
        id: 42,
        name: "Ada".into(),
        maturity_level: "PG-13".into(),
        language: "en-US".into(),
        avatar_url: String::new(),
    };
    kit.backend("profiles")
        .on_get("/profiles/42", Reply::json(&profile).after(LATENCY));
    let rows = Rows {
        profile: 42,
        rows: vec![
            row("Continue Watching", &[9, 8]),
            row("Trending Now", &[1, 2]),
            row("New Releases", &[3]),
        ],
    };
    kit.backend("recommendations").on_get(
        "/rows?profile=42&count=6",
        Reply::json(&rows).after(LATENCY),
    );
    let bookmarks = Bookmarks {
        profile: 42,
        items: vec![Bookmark {
            title_id: 2,
            position_s: 600,
            updated_ms: 0,
        }],
    };
    kit.backend("bookmarks")
        .on_get("/bookmarks/42", Reply::json(&bookmarks).after(LATENCY));
    kit.backend("catalog")
        .on_with("GET", "/titles?ids=*", batch);
    kit
}

fn row(name: &str, ids: &[u64]) -> Row {
    Row {
        name: name.into(),
        title_ids: ids.to_vec(),
    }
}

fn row_names(home: &Value) -> Vec<&str> {
    home["rows"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|row| row["name"].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn the_home_page_composes_every_backend_in_two_parallel_steps() {
    let kit = kit();
    let answer = kit.get("/home?profile=42").send();
    assert_eq!(answer.status(), 200, "{}", answer.text());
    let home = answer.json_value();
    assert_eq!(home["degraded"], json!([]));
    assert_eq!(home["greeting"], "Welcome back, Ada");
    assert_eq!(home["maturity_level"], "PG-13");
    assert_eq!(
        row_names(&home),
        ["Continue Watching", "Trending Now", "New Releases"]
    );
    let continue_watching = &home["rows"][0]["items"][0];
    assert_eq!(continue_watching["id"], 2);
    assert_eq!(continue_watching["resume_at_s"], 600);
    assert_eq!(continue_watching["boxart"], "boxart/w342/2");
    assert_eq!(home["rows"][1]["items"][0].get("resume_at_s"), None);
    assert_eq!(home["hero"], "hero/2");

    // Step one: profiles, recommendations and bookmarks at once; step two: one catalog
    // call per row, all at once, after the first step.
    let first = ["profiles", "recommendations", "bookmarks"].map(|name| answer.call_to(name));
    assert!(first.iter().all(|call| call.started == Duration::ZERO));
    let catalog = answer.calls_to("catalog");
    let paths: Vec<&str> = catalog.iter().map(|call| call.path.as_str()).collect();
    assert_eq!(paths, ["/titles?ids=2", "/titles?ids=1,2", "/titles?ids=3"]);
    assert!(catalog.iter().all(|call| call.started == LATENCY));
    assert_eq!(answer.elapsed(), 2 * LATENCY);
    assert!(
        answer
            .calls()
            .iter()
            .all(|call| call.header("x-request-id") == Some(answer.request_id())),
        "every call carries the device request's id"
    );
}

#[test]
fn without_bookmarks_there_is_no_continue_watching_row() {
    let mut kit = kit();
    kit.backend("bookmarks").always(Reply::refused());
    let home = kit.get("/home?profile=42").send().json_value();
    assert_eq!(home["degraded"], json!(["bookmarks"]));
    assert_eq!(row_names(&home), ["Trending Now", "New Releases"]);
}

#[test]
fn without_recommendations_the_popular_row_after_the_timeout() {
    let mut kit = kit();
    kit.backend("recommendations")
        .timeout(Duration::from_millis(100))
        .always(Reply::hang());
    let answer = kit.get("/home?profile=42").send();
    let home = answer.json_value();
    assert_eq!(home["degraded"], json!(["recommendations"]));
    assert_eq!(row_names(&home), ["Continue Watching", "Popular"]);
    let popular: Vec<u64> = home["rows"][1]["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["id"].as_u64())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(popular, POPULAR);
    assert_eq!(answer.elapsed(), Duration::from_millis(100) + LATENCY);
}

#[test]
fn without_a_profile_the_defaults() {
    let mut kit = kit();
    kit.backend("profiles").always(Reply::status(404));
    let home = kit.get("/home?profile=42").send().json_value();
    assert_eq!(home["degraded"], json!(["profiles"]));
    assert_eq!(home["greeting"], "Welcome");
    assert_eq!(home["maturity_level"], "TV-14");
    assert_eq!(row_names(&home).len(), 3);
}

#[test]
fn a_failing_catalog_costs_its_rows_not_the_page() {
    let mut kit = kit();
    // The newest rule wins over the set-up's batch answer.
    kit.backend("catalog")
        .on("GET", "/titles*", Reply::status(500));
    let answer = kit.get("/home?profile=42").send();
    assert_eq!(answer.status(), 200);
    let home = answer.json_value();
    assert_eq!(home["degraded"], json!(["catalog"]), "named once");
    assert_eq!(home["rows"], json!([]));
    assert_eq!(home["hero"], Value::Null);
    assert_eq!(
        answer.calls_to("catalog").len(),
        3,
        "one call per row, each failed"
    );
}

#[test]
fn a_profile_that_is_not_a_number_is_a_400_and_calls_nothing() {
    let kit = kit();
    for target in ["/home?profile=abc", "/home", "/home?profile=-1"] {
        let answer = kit.get(target).send();
        assert_eq!(answer.status(), 400, "{target}");
        assert_eq!(answer.json_value()["error"], "bad request");
        assert_eq!(answer.json_value()["detail"], "profile must be a number");
        assert!(answer.calls().is_empty(), "{target}");
    }
    assert_eq!(kit.post("/home?profile=42").send().status(), 405);
}

#[test]
fn an_artwork_failure_is_a_500_with_the_module_error_kept() {
    let mut kit = kit();
    kit.module(Artwork::implemented_by::<Failing>());
    let answer = kit.get("/home?profile=42").send();
    assert_eq!(answer.status(), 500);
    let error = answer.handler_error().expect("the handler's error");
    assert_eq!(error.kind, HandlerErrorKind::Failed);
    assert!(
        error.message.contains("no artwork today"),
        "{}",
        error.message
    );
}
