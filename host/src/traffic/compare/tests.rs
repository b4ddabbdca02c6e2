//! The structural JSON diff: field order, nesting, arrays, ignored fields, bounds.

use super::*;

const BOUNDS: Bounds = Bounds {
    differences: 10,
    value_bytes: 40,
};

fn answer(status: u16, body: &str) -> Answer {
    Answer {
        status,
        body: Bytes::copy_from_slice(body.as_bytes()),
    }
}

fn compare_json(a: &str, b: &str, ignored: &[&str]) -> Comparison {
    let ignored: Vec<String> = ignored.iter().map(|s| (*s).to_owned()).collect();
    compare(
        &answer(200, a),
        &answer(200, b),
        &Ignored::new(&ignored),
        BOUNDS,
    )
}

fn places(comparison: &Comparison) -> Vec<&str> {
    comparison.kept.iter().map(|d| d.at.as_str()).collect()
}

#[test]
fn key_order_and_whitespace_do_not_matter() {
    let same = compare_json(r#"{"a": 1, "b": [1, 2]}"#, r#"{"b":[1,2],"a":1}"#, &[]);
    assert!(same.matched(), "{same:?}");
}

#[test]
fn differences_are_named_by_json_pointer() {
    let diff = compare_json(
        r#"{"a": 1, "items": [{"id": 1}, {"id": 2}], "gone": true, "a/b": 0}"#,
        r#"{"a": 2, "items": [{"id": 1}, {"id": 3}, {"id": 4}], "new": null, "a/b": 1}"#,
        &[],
    );
    assert_eq!(
        places(&diff),
        ["/a", "/a~1b", "/gone", "/items/1/id", "/items/2", "/new"]
    );
    let gone = &diff.kept[2];
    assert_eq!(
        (gone.primary.as_str(), gone.shadow.as_str()),
        ("true", "(absent)")
    );
}

#[test]
fn ignored_fields_cover_their_subtree_by_pointer_or_top_level_key() {
    let a = r#"{"generated_at": 1, "meta": {"trace": "x", "kept": 1}, "v": 1}"#;
    let b = r#"{"generated_at": 2, "meta": {"trace": "y", "kept": 1}, "v": 1}"#;
    assert!(compare_json(a, b, &["generated_at", "/meta/trace"]).matched());
    assert_eq!(places(&compare_json(a, b, &["/meta"])), ["/generated_at"]);
    // A pointer covers its subtree only, not keys that merely start with its name.
    let c = r#"{"meta": 1, "metadata": 1}"#;
    let d = r#"{"meta": 2, "metadata": 2}"#;
    assert_eq!(places(&compare_json(c, d, &["meta"])), ["/metadata"]);
    // An ignored key absent on one side is ignored too.
    assert!(
        compare_json(
            r#"{"x": 1}"#,
            r#"{"x": 1, "generated_at": 5}"#,
            &["generated_at"]
        )
        .matched()
    );
}

#[test]
fn status_and_non_json_bodies() {
    let ignored = Ignored::default();
    let diff = compare(
        &answer(200, "hello"),
        &answer(500, "hello"),
        &ignored,
        BOUNDS,
    );
    assert_eq!(places(&diff), ["status"]);
    let diff = compare(
        &answer(200, "hello"),
        &answer(200, "hullo"),
        &ignored,
        BOUNDS,
    );
    assert_eq!(places(&diff), ["body"]);
    assert!(compare(&answer(204, ""), &answer(204, ""), &ignored, BOUNDS).matched());
    // JSON against text is a body difference too.
    let diff = compare(&answer(200, "{}"), &answer(200, "oops"), &ignored, BOUNDS);
    assert_eq!(places(&diff), ["body"]);
}

#[test]
fn differences_are_bounded_in_number_and_size() {
    let a: Vec<u32> = (0..50).collect();
    let b: Vec<u32> = (100..150).collect();
    let diff = compare_json(
        &serde_json::to_string(&a).expect("json"),
        &serde_json::to_string(&b).expect("json"),
        &[],
    );
    assert_eq!(diff.count, 50);
    assert_eq!(diff.kept.len(), 10);
    let long = format!(r#"{{"s": "{}"}}"#, "é".repeat(100));
    let diff = compare_json(&long, r#"{"s": 1}"#, &[]);
    assert!(
        diff.kept[0].primary.len() <= 40 + '…'.len_utf8(),
        "{:?}",
        diff.kept[0]
    );
}

#[test]
fn whole_documents_that_differ_in_kind() {
    let diff = compare_json("[1]", r#"{"a": 1}"#, &[]);
    assert_eq!(places(&diff), ["/"]);
}

#[test]
fn identical_bodies_match_without_parsing_and_a_status_still_counts() {
    let ignored = Ignored::default();
    let page = r#"{"rows": [{"id": 1}, {"id": 2}], "profile": 7}"#;
    assert!(compare(&answer(200, page), &answer(200, page), &ignored, BOUNDS).matched());
    // The same bytes under another status: the status alone differs.
    let diff = compare(&answer(200, page), &answer(503, page), &ignored, BOUNDS);
    assert_eq!((diff.count, places(&diff)), (1, vec!["status"]));
    // Malformed JSON that is the same on both sides is the same answer.
    let broken = r#"{"rows": [1, 2"#;
    assert!(compare(&answer(200, broken), &answer(200, broken), &ignored, BOUNDS).matched());
}
