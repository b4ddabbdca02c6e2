//! Which device ids are accepted, and what generated ids look like.

use super::*;

#[test]
fn visible_ascii_up_to_the_limit_is_accepted_as_is() {
    let id = RequestId::parse(b"abc-123_~!").expect("accepted");
    assert_eq!(id.as_str(), "abc-123_~!");
    let longest = vec![b'x'; MAX_LEN];
    assert_eq!(
        RequestId::parse(&longest).expect("accepted").as_str().len(),
        MAX_LEN
    );
}

#[test]
fn attacker_ids_are_refused() {
    assert_eq!(RequestId::parse(b""), Err(Refusal::Empty));
    assert_eq!(
        RequestId::parse(&[b'x'; MAX_LEN + 1]),
        Err(Refusal::TooLong(MAX_LEN + 1))
    );
    for bad in [
        &b"a b"[..],
        b"a\tb",
        b"a\x7fb",
        b"a\x01b",
        "é".as_bytes(),
        b"a\nb",
    ] {
        assert_eq!(
            RequestId::parse(bad),
            Err(Refusal::NotVisibleAscii),
            "{bad:?}"
        );
    }
}

#[test]
fn headers_give_the_device_id_or_a_generated_one() {
    let mut headers = HeaderMap::new();
    let (id, origin) = RequestId::from_headers(&headers);
    assert_eq!(origin, Origin::Generated);
    assert_eq!(id.as_str().len(), 32);

    headers.insert(HEADER, HeaderValue::from_static("dev-1"));
    assert_eq!(
        RequestId::from_headers(&headers),
        (RequestId::parse(b"dev-1").expect("valid"), Origin::Device)
    );

    headers.append(HEADER, HeaderValue::from_static("dev-2"));
    let (id, origin) = RequestId::from_headers(&headers);
    assert_eq!(origin, Origin::Replaced(Refusal::Repeated));
    assert_ne!(id.as_str(), "dev-1");
}

#[test]
fn generated_ids_are_hex_and_distinct() {
    let ids: std::collections::HashSet<String> = (0..1000)
        .map(|_| RequestId::generate().as_str().to_owned())
        .collect();
    assert_eq!(ids.len(), 1000);
    assert!(ids.iter().all(|id| {
        id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }));
}

#[test]
fn header_values_carry_the_id_and_share_one_buffer_when_cloned() {
    let longest = RequestId::parse(&[b'~'; MAX_LEN]).expect("accepted");
    for id in [RequestId::generate(), longest] {
        let value = id.header_value();
        assert_eq!(value.as_bytes(), id.as_str().as_bytes());
        let copy = value.clone();
        assert_eq!(copy.as_bytes().as_ptr(), value.as_bytes().as_ptr());
    }
}

#[test]
fn hex_digits_match_the_formatter_at_the_edges_and_between() {
    let mut samples = vec![0, 1, 9, 10, 15, 16, u64::MAX, u64::MAX - 1, 1 << 63];
    samples.extend((0..64).map(|shift| 0xa5a5_5a5a_0f0f_f0f0_u64.rotate_left(shift)));
    samples.extend((0..1000).map(|_| random::next_u64()));
    for value in samples {
        assert_eq!(
            hex_digits(value),
            format!("{value:016x}").as_bytes(),
            "{value:#x}"
        );
    }
}
