//! The sticky hash: spread evenly, stable per key, and monotone in the weight.

use hyper::header::HeaderValue;

use super::*;

fn keys(count: usize) -> impl Iterator<Item = String> {
    (0..count).map(|i| format!("device-{i}"))
}

#[test]
fn buckets_spread_evenly_over_deciles() {
    let mut deciles = [0u32; 10];
    for key in keys(100_000) {
        deciles[(bucket_of(7, key.as_bytes()) / 1000) as usize] += 1;
    }
    // 10 000 expected per decile; a fair split stays well within 3%.
    for (decile, count) in deciles.iter().enumerate() {
        assert!(
            (9_700..=10_300).contains(count),
            "decile {decile} holds {count} of 100 000: {deciles:?}"
        );
    }
}

#[test]
fn the_share_below_a_weight_matches_the_weight() {
    for weight in [100, 1_000, 2_500, 5_000, 9_000] {
        let below = keys(100_000)
            .filter(|key| bucket_of(1, key.as_bytes()) < weight)
            .count() as f64;
        let share = below / 100_000.0;
        let expected = f64::from(weight) / f64::from(SCALE);
        assert!(
            (share - expected).abs() < 0.01,
            "weight {weight}: {share} of devices, expected {expected}"
        );
    }
}

#[test]
fn a_key_keeps_its_bucket_and_rising_weights_only_add_devices() {
    let weights = [1_000, 2_500, 5_000, 10_000];
    for key in keys(10_000) {
        let bucket = bucket_of(42, key.as_bytes());
        assert_eq!(bucket, bucket_of(42, key.as_bytes()), "stable for {key}");
        assert!(bucket < SCALE);
        // Once in the canary at one weight, in it at every higher weight.
        let sides: Vec<bool> = weights.iter().map(|&w| bucket < w).collect();
        let first_in = sides.iter().position(|&inside| inside);
        if let Some(first) = first_in {
            assert!(
                sides[first..].iter().all(|&inside| inside),
                "{key}: {sides:?}"
            );
        }
    }
}

#[test]
fn seeds_pick_different_devices() {
    let same = keys(10_000)
        .filter(|key| {
            (bucket_of(1, key.as_bytes()) < 1_000) == (bucket_of(2, key.as_bytes()) < 1_000)
        })
        .count();
    // Independent 10% draws agree on about 82% of keys, not all of them.
    assert!(same < 9_500, "{same} of 10 000 agree");
}

#[test]
fn random_buckets_cover_the_range() {
    let mut below_half = 0;
    for _ in 0..10_000 {
        let bucket = random_bucket();
        assert!(bucket < SCALE);
        if bucket < SCALE / 2 {
            below_half += 1;
        }
    }
    assert!((4_700..=5_300).contains(&below_half), "{below_half}");
}

#[test]
fn the_key_comes_from_the_header_then_the_cookie() {
    let sticky = StickyKey {
        header: Some(HeaderName::from_static("x-device-id")),
        cookie: Some("device".into()),
    };
    let mut headers = HeaderMap::new();
    assert_eq!(sticky.find(&headers), None);
    headers.insert(
        COOKIE,
        HeaderValue::from_static("theme=dark; device=tv-9; x=1"),
    );
    assert_eq!(sticky.find(&headers), Some(&b"tv-9"[..]));
    headers.insert("x-device-id", HeaderValue::from_static("abc"));
    assert_eq!(sticky.find(&headers), Some(&b"abc"[..]));

    let cookie_only = StickyKey {
        header: None,
        cookie: Some("device".into()),
    };
    let mut headers = HeaderMap::new();
    headers.insert(COOKIE, HeaderValue::from_static("devices=no; device="));
    assert_eq!(
        cookie_only.find(&headers),
        None,
        "an empty or merely similar cookie is no key"
    );
}
