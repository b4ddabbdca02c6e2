//! Playback with the test kit: the ordered sequence with its parallel steps, each refusal,
//! and the one optional call.

use std::time::Duration;

use frontdoor_plugin_api::{
    HandlerErrorKind,
    serde_json::{Value, json},
    testkit::{Reply, TestKit},
};
use samples::{Bookmark, Bookmarks, Decision, DecisionRequest, Profile, Title};

use super::rank;

const LATENCY: Duration = Duration::from_millis(10);
const TITLE: u64 = 80_000_010;

fn start_body(device: &str) -> Value {
    json!({ "profile": 42, "title_id": TITLE, "device": device })
}

/// Profile 42 (PG-13) may watch title 80000010 (PG), stopped at 1234 s.
fn kit() -> TestKit {
    let mut kit = TestKit::new(crate::__frontdoor_adapter());
    let profile = Profile {
        id: 42,
        name: "Ada".into(),
        maturity_level: "PG-13".into(),
        language: "en-US".into(),
        avatar_url: String::new(),
    };
    kit.backend("profiles")
        .on_get("/profiles/42", Reply::json(&profile).after(LATENCY));
    kit.backend("catalog")
        .on_get(
            &format!("/titles/{TITLE}"),
            Reply::json(&title("PG")).after(LATENCY),
        )
        .otherwise(Reply::status(404).body(r#"{"error":"unknown title"}"#));
    let decision = Decision {
        title_id: TITLE,
        manifest_url: "https://cdn.example.test/m.mpd".into(),
        drm: "playready".into(),
        max_resolution: "2160p".into(),
        decision_id: "d-1".into(),
    };
    kit.backend("playback")
        .on("POST", "/decisions", Reply::json(&decision).after(LATENCY));
    let bookmarks = Bookmarks {
        profile: 42,
        items: vec![Bookmark {
            title_id: TITLE,
            position_s: 1234,
            updated_ms: 0,
        }],
    };
    kit.backend("bookmarks")
        .on_get("/bookmarks/42", Reply::json(&bookmarks).after(LATENCY))
        .on("PUT", "/bookmarks/*", Reply::json(&json!({ "ok": true })));
    kit
}

fn title(maturity: &str) -> Title {
    Title {
        id: TITLE,
        title: "Title 10".into(),
        year: 1999,
        maturity: maturity.into(),
        genres: Vec::new(),
        runtime_min: 100,
        synopsis: String::new(),
    }
}

#[test]
fn start_runs_two_parallel_steps_in_order() {
    let kit = kit();
    let answer = kit.post("/start").json(&start_body("tv")).send();
    assert_eq!(answer.status(), 200, "{}", answer.text());
    assert_eq!(
        answer.json_value(),
        json!({
            "title": "Title 10",
            "resume_from_s": 1234,
            "decision": {
                "manifest_url": "https://cdn.example.test/m.mpd",
                "drm": "playready",
                "max_resolution": "2160p",
                "decision_id": "d-1",
            },
        }),
        "devices get the decision without the backend's title id"
    );
    let (profile, title) = (answer.call_to("profiles"), answer.call_to("catalog"));
    assert!(profile.started == Duration::ZERO && title.started == Duration::ZERO);
    let (decision, bookmarks) = (answer.call_to("playback"), answer.call_to("bookmarks"));
    assert!(decision.overlaps(bookmarks));
    assert_eq!(decision.started, LATENCY, "after both answers of step one");
    assert_eq!(
        decision.json::<DecisionRequest>().ok(),
        Some(DecisionRequest {
            profile: 42,
            title_id: TITLE,
            device: "tv".into(),
        })
    );
    assert_eq!(decision.header("content-type"), Some("application/json"));
    assert_eq!(answer.elapsed(), 2 * LATENCY);
}

#[test]
fn an_unknown_title_is_a_404_and_nothing_is_decided() {
    let kit = kit();
    let answer = kit
        .post("/start")
        .json(&json!({ "profile": 42, "title_id": 1, "device": "tv" }))
        .send();
    assert_eq!(answer.status(), 404);
    assert_eq!(answer.json_value(), json!({ "error": "no such title" }));
    assert!(answer.calls_to("playback").is_empty());
}

#[test]
fn a_title_above_the_profiles_maturity_is_refused_before_any_decision() {
    let mut kit = kit();
    kit.backend("catalog")
        .on_get(&format!("/titles/{TITLE}"), Reply::json(&title("TV-MA")));
    let answer = kit.post("/start").json(&start_body("tv")).send();
    assert_eq!(answer.status(), 403);
    assert_eq!(answer.json_value()["error"], "maturity");
    assert!(answer.calls_to("playback").is_empty());
}

#[test]
fn without_bookmarks_playback_starts_from_the_beginning() {
    let mut kit = kit();
    kit.backend("bookmarks")
        .on_get("/bookmarks/42", Reply::status(500));
    let answer = kit.post("/start").json(&start_body("mobile")).send();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json_value()["resume_from_s"], 0);
}

#[test]
fn without_a_profile_or_a_decision_there_is_no_playback() {
    let mut kit = kit();
    kit.backend("playback").always(Reply::hang());
    let answer = kit.post("/start").json(&start_body("tv")).send();
    assert_eq!(answer.status(), 500);
    let error = answer.handler_error().expect("the handler's error");
    assert_eq!(error.kind, HandlerErrorKind::Failed);
    assert!(error.message.contains("timeout"), "{}", error.message);

    let mut kit = self::kit();
    kit.backend("profiles").always(Reply::refused());
    let answer = kit.post("/start").json(&start_body("tv")).send();
    assert_eq!(answer.status(), 500);
    assert!(answer.calls_to("playback").is_empty());
}

#[test]
fn bad_bodies_are_400s_that_call_nothing() {
    let kit = kit();
    for body in [
        &b"not json"[..],
        b"{}",
        br#"{"profile":"x","title_id":1,"device":"tv"}"#,
    ] {
        let answer = kit.post("/start").body(body).send();
        assert_eq!(answer.status(), 400, "{}", String::from_utf8_lossy(body));
        assert!(answer.json_value()["error"].as_str().is_some());
        assert!(answer.calls().is_empty());
    }
    assert_eq!(kit.get("/start").send().status(), 405);
}

#[test]
fn a_position_is_saved_with_a_put_to_bookmarks() {
    let kit = kit();
    let answer = kit
        .put("/position")
        .json(&json!({ "profile": 42, "title_id": TITLE, "position_s": 99 }))
        .send();
    assert_eq!(answer.status(), 200, "{}", answer.text());
    assert_eq!(answer.json_value(), json!({ "saved": true }));
    let call = answer.call_to("bookmarks");
    assert_eq!(
        call.summary(),
        format!("PUT bookmarks /bookmarks/42/{TITLE}")
    );
    assert_eq!(call.json::<Value>().ok(), Some(json!({ "position_s": 99 })));

    let mut kit = self::kit();
    kit.backend("bookmarks")
        .on("PUT", "/bookmarks/*", Reply::status(400));
    let refused = kit
        .put("/position")
        .json(&json!({ "profile": 42, "title_id": TITLE, "position_s": 99 }))
        .send();
    assert_eq!(refused.status(), 500, "a position not saved is not hidden");
}

#[test]
fn ratings_order_from_mild_to_strong() {
    assert!(rank("G") < rank("PG-13"));
    assert!(rank("R") < rank("TV-MA"));
    assert!(rank("unknown") > rank("TV-MA"));
}
