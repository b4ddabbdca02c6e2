//! The mobile home page with the test kit: one catalog call for the whole page, small
//! images from a fake artwork v2 module, and the fallbacks.

use artwork2_api::{Artwork, ArtworkModule, ImageKind};
use frontdoor_plugin_api::{
    ModuleCallError,
    abi_stable::std_types::RString,
    serde_json::{Value, json},
    testkit::{BackendCall, Reply, TestKit},
};
use samples::{Bookmark, Bookmarks, Row, Rows, Title, Titles};

struct Images;

impl ArtworkModule for Images {
    fn image_url(title_id: u64, kind: ImageKind, width: u32) -> Result<RString, ModuleCallError> {
        Ok(format!("{kind:?}/w{width}/{title_id}").into())
    }
}

/// Every id asked for is a title, except 404.
fn batch(call: &BackendCall) -> Reply {
    let ids = call.path.split_once("ids=").map_or("", |(_, ids)| ids);
    let titles = ids
        .split(',')
        .filter_map(|id| id.parse().ok())
        .filter(|id| *id != 404)
        .map(|id| Title {
            id,
            title: format!("Title {id}"),
            year: 2001,
            maturity: "PG".into(),
            genres: Vec::new(),
            runtime_min: 90,
            synopsis: String::new(),
        });
    Reply::json(&Titles {
        titles: titles.collect(),
    })
}

fn kit() -> TestKit {
    let mut kit = TestKit::new(crate::__frontdoor_adapter());
    kit.module(Artwork::implemented_by::<Images>());
    let rows = Rows {
        profile: 7,
        rows: vec![
            Row {
                name: "Continue Watching".into(),
                title_ids: vec![5, 6],
            },
            Row {
                name: "Trending Now".into(),
                title_ids: vec![1, 2, 3, 4, 5, 6, 7],
            },
            Row {
                name: "Gone".into(),
                title_ids: vec![404],
            },
        ],
    };
    kit.backend("recommendations")
        .on_get("/rows?profile=7&count=3", Reply::json(&rows));
    let bookmarks = Bookmarks {
        profile: 7,
        items: vec![Bookmark {
            title_id: 2,
            position_s: 60,
            updated_ms: 0,
        }],
    };
    kit.backend("bookmarks")
        .on_get("/bookmarks/7", Reply::json(&bookmarks));
    kit.backend("catalog")
        .on_with("GET", "/titles?ids=*", batch);
    kit
}

fn row_names(home: &Value) -> Vec<&str> {
    home["rows"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|row| row["name"].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn the_page_takes_one_catalog_call_for_every_title_shown() {
    let kit = kit();
    let answer = kit.get("/home?profile=7").send();
    assert_eq!(answer.status(), 200, "{}", answer.text());
    let home = answer.json_value();
    assert_eq!(home["degraded"], json!([]));
    // A row whose titles the catalog does not know is left out.
    assert_eq!(row_names(&home), ["Continue Watching", "Trending Now"]);
    assert_eq!(
        home["rows"][0]["items"][0],
        json!({ "id": 2, "title": "Title 2", "image": "BoxArt/w185/2" })
    );
    assert_eq!(
        home["rows"][1]["items"].as_array().map(Vec::len),
        Some(5),
        "five items per row"
    );
    assert_eq!(
        answer.call_to("catalog").path,
        "/titles?ids=1,2,3,4,5,404",
        "sorted, without duplicates, five per row"
    );
    assert!(
        answer
            .call_to("recommendations")
            .overlaps(answer.call_to("bookmarks"))
    );
}

#[test]
fn without_bookmarks_there_is_no_continue_watching_row() {
    let mut kit = kit();
    kit.backend("bookmarks").always(Reply::circuit_open());
    let home = kit.get("/home?profile=7").send().json_value();
    assert_eq!(home["degraded"], json!(["bookmarks"]));
    assert_eq!(row_names(&home), ["Trending Now"]);
}

#[test]
fn without_recommendations_only_continue_watching() {
    let mut kit = kit();
    kit.backend("recommendations").always(Reply::status(503));
    let home = kit.get("/home?profile=7").send().json_value();
    assert_eq!(home["degraded"], json!(["recommendations"]));
    assert_eq!(row_names(&home), ["Continue Watching"]);
}

#[test]
fn with_nothing_to_show_the_catalog_is_not_called() {
    let mut kit = kit();
    kit.backend("recommendations").always(Reply::rejected());
    kit.backend("bookmarks").on_get(
        "/bookmarks/7",
        Reply::json(&json!({ "profile": 7, "items": [] })),
    );
    let answer = kit.get("/home?profile=7").send();
    assert_eq!(answer.json_value()["rows"], json!([]));
    assert!(answer.calls_to("catalog").is_empty());
}

#[test]
fn a_failing_catalog_leaves_an_empty_page_not_an_error() {
    let mut kit = kit();
    kit.backend("catalog")
        .on("GET", "/titles*", Reply::refused());
    let answer = kit.get("/home?profile=7").send();
    assert_eq!(answer.status(), 200);
    let home = answer.json_value();
    assert_eq!(home["degraded"], json!(["catalog"]));
    assert_eq!(home["rows"], json!([]));
}

#[test]
fn a_profile_that_is_not_a_number_is_a_400_and_calls_nothing() {
    let kit = kit();
    let answer = kit.get("/home?profile=seven").send();
    assert_eq!(answer.status(), 400);
    assert!(answer.calls().is_empty());
}
