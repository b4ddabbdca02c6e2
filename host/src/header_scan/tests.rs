//! The scan answers what the map's own lookups answer, for heads small and large, names
//! absent, present once and repeated, among standard and custom names of the same length.

use hyper::{
    HeaderMap,
    header::{self, HeaderName, HeaderValue},
};

use super::*;

fn name(text: &str) -> HeaderName {
    HeaderName::from_bytes(text.as_bytes()).expect("valid name")
}

/// A head with `fillers` other fields (standard and custom, some as long as `wanted`), and
/// `wanted` at the given positions among them.
fn head(fillers: usize, wanted: &HeaderName, at: &[usize]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for index in 0..fillers.max(at.iter().max().map_or(0, |last| last + 1)) {
        if at.contains(&index) {
            headers.append(wanted.clone(), HeaderValue::from(index));
        }
        if index < fillers {
            let filler = match index % 3 {
                0 => header::ACCEPT,
                // As long as `x-frontdoor-version`, differing in its last byte (never `n`).
                1 => name(&format!(
                    "x-frontdoor-versio{}",
                    char::from(b'a' + (index % 13) as u8)
                )),
                _ => name(&format!("x-filler-{index}")),
            };
            headers.append(filler, HeaderValue::from(index + 1000));
        }
    }
    headers
}

#[test]
fn the_scan_answers_what_the_map_answers() {
    let wanted = name("x-frontdoor-version");
    let mut hashed = 0;
    for fillers in [0, 1, 2, 5, SCAN_LIMIT - 1, SCAN_LIMIT, SCAN_LIMIT + 1, 40] {
        for at in [
            &[][..],
            &[0],
            &[3],
            &[1, 4],
            &[0, 2, 7],
            &[fillers.saturating_sub(1)],
        ] {
            let headers = head(fillers, &wanted, at);
            let expected: Vec<&HeaderValue> = headers.get_all(&wanted).iter().collect();
            let found: Vec<&HeaderValue> =
                get_all(&headers, &wanted).into_iter().flatten().collect();
            assert_eq!(found, expected, "{fillers} other fields, wanted at {at:?}");
            assert_eq!(get(&headers, &wanted), headers.get(&wanted));
            hashed += usize::from(headers.keys_len() > SCAN_LIMIT);
        }
    }
    assert!(hashed > 0, "some heads are past the scan's limit");
}

#[test]
fn standard_names_are_found_too() {
    let mut headers = HeaderMap::new();
    headers.insert(header::HOST, HeaderValue::from_static("example"));
    headers.append(header::ACCEPT, HeaderValue::from_static("a"));
    headers.append(header::ACCEPT, HeaderValue::from_static("b"));
    let found: Vec<&HeaderValue> = get_all(&headers, &header::ACCEPT)
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(
        found,
        [
            &HeaderValue::from_static("a"),
            &HeaderValue::from_static("b")
        ]
    );
    assert_eq!(get(&headers, &header::COOKIE), None);
    assert!(
        get_all(&headers, &header::COOKIE).is_none(),
        "absence is told without the map"
    );
}
