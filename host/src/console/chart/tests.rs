use super::{line, segments};

#[test]
fn values_become_polylines_with_gaps_where_data_is_missing() {
    let parts = segments(&[Some(1.0), Some(2.0), None, Some(0.0), Some(2.0)], 2.0);
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0], "0.0,30.0 60.0,2.0");
    assert_eq!(parts[1], "180.0,58.0 240.0,2.0");
}

#[test]
fn hostile_labels_are_escaped_and_odd_numbers_draw_nothing_wrong() {
    let svg = line(
        "p99 of <script>alert(1)</script>\"",
        &[
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(-3.0),
            Some(1e300),
            None,
        ],
        "ms",
    )
    .into_string();
    assert!(!svg.contains("<script>"), "{svg}");
    assert!(svg.contains("&lt;script&gt;"), "{svg}");
    assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    assert!(
        !svg.contains("style="),
        "the CSP refuses inline styles: {svg}"
    );
}

#[test]
fn an_empty_series_says_so() {
    let svg = line("errors", &[], "%").into_string();
    assert!(svg.contains("no data yet"));
    assert!(!svg.contains("polyline"));
}

#[test]
fn a_lone_value_is_drawn_as_a_dash() {
    assert_eq!(
        segments(&[Some(1.0)], 1.0),
        vec!["0.0,2.0 4.0,2.0".to_owned()]
    );
    assert_eq!(
        segments(&[Some(1.0), None, Some(1.0)], 1.0),
        vec![
            "0.0,2.0 4.0,2.0".to_owned(),
            "236.0,2.0 240.0,2.0".to_owned()
        ]
    );
}
