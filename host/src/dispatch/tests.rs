//! Properties of the request-path parsers: the `x-frontdoor-version` header and the split
//! of a path into namespace and rest. Bounded case counts, part of `cargo test`.

use proptest::prelude::*;

use super::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

/// A semver requirement as a client would write one: one or two comparators.
fn requirement() -> impl Strategy<Value = String> {
    let comparator = (
        prop::sample::select(vec!["", "=", "^", "~", ">", ">=", "<", "<="]),
        0u64..50,
        prop::option::of((0u64..50, prop::option::of(0u64..50))),
    )
        .prop_map(|(op, major, rest)| match rest {
            None => format!("{op}{major}"),
            Some((minor, None)) => format!("{op}{major}.{minor}"),
            Some((minor, Some(patch))) => format!("{op}{major}.{minor}.{patch}"),
        });
    prop::collection::vec(comparator, 1..3).prop_map(|comparators| comparators.join(", "))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_header_value_is_parsed_or_refused_as_a_bad_request(
        bytes in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        // Only what can be a header value reaches the parser.
        if let Ok(value) = HeaderValue::from_bytes(&bytes)
            && let Err(error) = parse_requirement(&value)
        {
            prop_assert_eq!(error.status, StatusCode::BAD_REQUEST);
            prop_assert!(error.detail.starts_with(VERSION_HEADER.as_str()));
        }
    }

    #[test]
    fn requirements_parse_and_their_printed_form_means_the_same(
        text in requirement(),
        version in (0u64..50, 0u64..50, 0u64..50),
    ) {
        let value = HeaderValue::from_str(&text).expect("ASCII");
        let parsed = parse_requirement(&value).expect("a valid requirement");
        let printed = HeaderValue::from_str(&parsed.to_string()).expect("ASCII");
        let again = parse_requirement(&printed).expect("the printed form parses");
        prop_assert_eq!(&again, &parsed);
        let version = semver::Version::new(version.0, version.1, version.2);
        prop_assert_eq!(again.matches(&version), parsed.matches(&version));
    }

    #[test]
    fn an_exact_requirement_selects_exactly_its_version(
        wanted in (0u64..20, 0u64..20, 0u64..20),
        other in (0u64..20, 0u64..20, 0u64..20),
    ) {
        let wanted = semver::Version::new(wanted.0, wanted.1, wanted.2);
        let other = semver::Version::new(other.0, other.1, other.2);
        let value = HeaderValue::from_str(&format!("={wanted}")).expect("ASCII");
        let requirement = parse_requirement(&value).expect("valid");
        prop_assert!(requirement.matches(&wanted));
        prop_assert_eq!(requirement.matches(&other), other == wanted);
    }

    #[test]
    fn a_path_splits_into_its_namespace_and_the_rest(
        namespace in "[a-z0-9-]{0,12}",
        rest in "(/[^/?#]{0,8}){0,4}",
    ) {
        let path = format!("/{namespace}{rest}");
        let (got_namespace, got_rest) = split_namespace(&path);
        prop_assert_eq!(got_namespace, namespace.as_str());
        let expected_rest = if rest.is_empty() { "/" } else { rest.as_str() };
        prop_assert_eq!(got_rest, expected_rest);
    }

    #[test]
    fn splitting_any_path_never_panics(path in "\\PC{0,40}") {
        let (namespace, rest) = split_namespace(&path);
        prop_assert!(!namespace.contains('/'));
        prop_assert!(rest.starts_with('/'));
    }
}
