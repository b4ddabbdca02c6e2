//! Route pattern parsing and matching (moved from the host's router, which re-exports it).

use super::*;

fn captured(pattern: &str, path: &str) -> Option<Vec<(String, String)>> {
    let pattern = RoutePattern::parse(pattern).expect("valid pattern");
    let mut params = Vec::new();
    pattern.matches(path, &mut params).then(|| {
        params
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    })
}

#[test]
fn literals_and_params_match() {
    assert_eq!(captured("/hello", "/hello"), Some(vec![]));
    assert_eq!(
        captured("/items/{id}/parts/{part}", "/items/42/parts/a%20b"),
        Some(vec![
            ("id".into(), "42".into()),
            ("part".into(), "a b".into())
        ])
    );
    assert_eq!(captured("/", "/"), Some(vec![]));
}

#[test]
fn mismatches_do_not_match() {
    assert_eq!(captured("/hello", "/hello/more"), None);
    assert_eq!(captured("/items/{id}", "/items"), None);
    assert_eq!(captured("/items/{id}", "/things/1"), None);
    assert_eq!(captured("/items/{id}", "/items/%zz"), None);
    assert_eq!(
        captured("/items/{id}", "/items/%+a"),
        None,
        "a sign is not a hex digit"
    );
}

#[test]
fn invalid_patterns_are_refused() {
    for bad in ["hello", "/a//b", "/{}", "/{a-b}", "/x{id}", "/{id}/{id}"] {
        assert!(RoutePattern::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn patterns_print_as_declared() {
    assert_eq!(
        RoutePattern::parse("/items/{id}")
            .expect("valid")
            .to_string(),
        "/items/{id}"
    );
}

#[test]
fn method_mismatch_is_reported() {
    let routes = vec![("POST", RoutePattern::parse("/items").expect("valid"))];
    assert!(matches!(
        match_route(&routes, &"GET", "/items"),
        RouteMatch::MethodNotAllowed
    ));
    assert!(matches!(
        match_route(&routes, &"GET", "/nope"),
        RouteMatch::NotFound
    ));
    assert!(matches!(
        match_route(&routes, &"POST", "/items"),
        RouteMatch::Found { route: 0, .. }
    ));
}

mod properties {
    //! Properties of the parsers every device request goes through, on generated input.
    //! Case counts are bounded so `cargo test` stays quick.

    use proptest::prelude::*;

    use super::super::*;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 256,
            ..ProptestConfig::default()
        }
    }

    /// Percent-encodes everything but unreserved characters, `/` and `%` included.
    fn encode(value: &str) -> String {
        value
            .bytes()
            .map(|byte| {
                if byte.is_ascii_alphanumeric() || b"._~-".contains(&byte) {
                    char::from(byte).to_string()
                } else {
                    format!("%{byte:02X}")
                }
            })
            .collect()
    }

    #[derive(Debug, Clone)]
    enum Piece {
        Literal(String),
        Param(String),
    }

    /// A valid pattern as its pieces: literals and uniquely named parameters.
    fn pieces() -> impl Strategy<Value = Vec<Piece>> {
        prop::collection::vec(
            prop_oneof![
                // RFC 3986 unreserved characters: no escaping needed in a segment.
                "[A-Za-z0-9._~-]{1,8}".prop_map(Piece::Literal),
                "[A-Za-z0-9_]{1,6}".prop_map(Piece::Param),
            ],
            0..6,
        )
        .prop_map(|pieces| {
            pieces
                .into_iter()
                .enumerate()
                .map(|(index, piece)| match piece {
                    // The index keeps names unique.
                    Piece::Param(name) => Piece::Param(format!("{name}_{index}")),
                    literal => literal,
                })
                .collect()
        })
    }

    fn source(pieces: &[Piece]) -> String {
        if pieces.is_empty() {
            return "/".into();
        }
        pieces
            .iter()
            .map(|piece| match piece {
                Piece::Literal(text) => format!("/{text}"),
                Piece::Param(name) => format!("/{{{name}}}"),
            })
            .collect()
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn parsing_any_text_never_panics_and_what_parses_prints_back(text in "\\PC{0,40}") {
            if let Ok(pattern) = RoutePattern::parse(&text) {
                let printed = pattern.to_string();
                let again = RoutePattern::parse(&printed).expect("a printed pattern parses");
                prop_assert!(pattern.same_shape(&again));
                prop_assert_eq!(again.to_string(), printed);
            }
        }

        #[test]
        fn valid_patterns_parse_and_print_as_written(pieces in pieces()) {
            let text = source(&pieces);
            let pattern = RoutePattern::parse(&text).expect("a valid pattern");
            prop_assert_eq!(pattern.to_string(), text);
        }

        #[test]
        fn a_pattern_matches_the_paths_it_describes(
            pieces in pieces(),
            values in prop::collection::vec("\\PC{1,12}", 6),
        ) {
            let pattern = RoutePattern::parse(&source(&pieces)).expect("a valid pattern");
            let mut path = String::new();
            let mut expected = Vec::new();
            for (piece, value) in pieces.iter().zip(&values) {
                match piece {
                    Piece::Literal(text) => path.push_str(&format!("/{text}")),
                    Piece::Param(name) => {
                        path.push_str(&format!("/{}", encode(value)));
                        expected.push((name.clone(), value.clone()));
                    }
                }
            }
            if path.is_empty() {
                path.push('/');
            }
            let mut params = Vec::new();
            prop_assert!(pattern.matches(&path, &mut params), "{} against {}", pattern, path);
            let captured: Vec<(String, String)> = params
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .collect();
            prop_assert_eq!(captured, expected);

            // One more segment is another path.
            let longer = format!("{}/extra", path.trim_end_matches('/'));
            let mut params = Vec::new();
            prop_assert!(!pattern.matches(&longer, &mut params));
            prop_assert!(params.is_empty(), "a failed match leaves no parameters behind");
        }

        #[test]
        fn matching_any_path_never_panics(pieces in pieces(), path in "\\PC{0,60}") {
            let pattern = RoutePattern::parse(&source(&pieces)).expect("a valid pattern");
            let mut params = Vec::new();
            if !pattern.matches(&path, &mut params) {
                prop_assert!(params.is_empty());
            }
            let routes = vec![("GET", pattern)];
            let _ = match_route(&routes, &"POST", &path);
        }

        #[test]
        fn decoding_inverts_encoding(value in "\\PC{0,40}") {
            prop_assert_eq!(percent_decode(&encode(&value)), Some(value));
        }

        #[test]
        fn decoding_accepts_exactly_well_formed_escapes(
            // Escapes near misses included: a sign, a non-hex letter, a cut-off end, a
            // multi-byte character where a digit should be.
            tokens in prop::collection::vec(
                prop_oneof![
                    "%[0-9A-Fa-f+g \u{e9}-]{0,2}",
                    "[0-9a-z+ \u{e9}\u{1F600}-]",
                ],
                0..12,
            ),
        ) {
            let text: String = tokens.concat();
            prop_assert_eq!(percent_decode(&text), oracle_decode(&text), "{:?}", text);
        }
    }

    /// The definition, written plainly: every `%` followed by two hex digits, the bytes
    /// UTF-8.
    fn oracle_decode(text: &str) -> Option<String> {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut index = 0;
        while index < bytes.len() {
            if bytes[index] == b'%' {
                let high = char::from(*bytes.get(index + 1)?).to_digit(16)?;
                let low = char::from(*bytes.get(index + 2)?).to_digit(16)?;
                out.push(u8::try_from(high * 16 + low).ok()?);
                index += 3;
            } else {
                out.push(bytes[index]);
                index += 1;
            }
        }
        String::from_utf8(out).ok()
    }
}

/// What a match says, comparable across matchers: the route and its parameters as text.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Found(u32, Vec<(String, String)>),
    MethodNotAllowed,
    NotFound,
}

fn outcome(found: RouteMatch, path: &str) -> Outcome {
    match found {
        RouteMatch::Found { route, params } => Outcome::Found(
            route,
            params
                .iter(path)
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        ),
        RouteMatch::MethodNotAllowed => Outcome::MethodNotAllowed,
        RouteMatch::NotFound => Outcome::NotFound,
    }
}

/// A route table as the test kit holds one: methods as text.
type Routes = [(&'static str, RoutePattern)];

fn routes(table: &[(&'static str, &str)]) -> Vec<(&'static str, RoutePattern)> {
    table
        .iter()
        .map(|(method, path)| (*method, RoutePattern::parse(path).expect("valid")))
        .collect()
}

/// Precedence as written down: the first route declared that matches the path and the
/// method wins, a literal or not; the tree and the reference agree on each case.
#[test]
fn the_tree_keeps_declaration_order_precedence() {
    let param_first = routes(&[("GET", "/items/{id}"), ("GET", "/items/new")]);
    let literal_first = routes(&[("GET", "/items/new"), ("GET", "/items/{id}")]);
    let methods = routes(&[
        ("POST", "/items/{id}"),
        ("GET", "/items/new"),
        ("GET", "/items/{id}"),
        ("DELETE", "/items/{id}/{part}"),
        ("GET", "/"),
    ]);
    let id = |value: &str| vec![("id".to_owned(), value.to_owned())];
    let cases: [(&Routes, &str, &str, Outcome); 14] = [
        (
            &param_first,
            "GET",
            "/items/new",
            Outcome::Found(0, id("new")),
        ),
        (
            &literal_first,
            "GET",
            "/items/new",
            Outcome::Found(0, vec![]),
        ),
        (
            &literal_first,
            "GET",
            "/items/7",
            Outcome::Found(1, id("7")),
        ),
        (&methods, "GET", "/items/new", Outcome::Found(1, vec![])),
        (&methods, "POST", "/items/new", Outcome::Found(0, id("new"))),
        (&methods, "PUT", "/items/new", Outcome::MethodNotAllowed),
        (
            &methods,
            "GET",
            "/items/a%20b",
            Outcome::Found(2, id("a b")),
        ),
        // A parameter that does not decode matches nothing, so the path is unknown.
        (&methods, "GET", "/items/%zz", Outcome::NotFound),
        (&methods, "GET", "/items/new/x", Outcome::MethodNotAllowed),
        (&methods, "GET", "//items//new/", Outcome::Found(1, vec![])),
        (&methods, "GET", "/", Outcome::Found(4, vec![])),
        (&methods, "GET", "", Outcome::Found(4, vec![])),
        (&methods, "POST", "/", Outcome::MethodNotAllowed),
        (&methods, "GET", "/nothing", Outcome::NotFound),
    ];
    for (table, method, path, expected) in cases {
        let tree = RouteTree::new(table);
        let reference = outcome(match_route(table, &method, path), path);
        assert_eq!(reference, expected, "the reference, {method} {path}");
        assert_eq!(
            outcome(tree.find(&method, path), path),
            expected,
            "the tree, {method} {path}"
        );
    }
}

#[test]
fn values_without_escapes_are_read_in_place() {
    let tree = RouteTree::new(&routes(&[("GET", "/items/{id}/parts/{part}")]));
    let path = "/items/42/parts/a%2Fb";
    let RouteMatch::Found { params, .. } = tree.find(&"GET", path) else {
        panic!("the route matches");
    };
    assert_eq!(params.get(path, "id"), Some("42"));
    assert_eq!(params.get(path, "part"), Some("a/b"), "decoded");
    assert_eq!(params.get(path, "other"), None);
    assert_eq!(params.len(), 2);
    // Read against another path, a value in place is other text or none, never a panic.
    assert_eq!(params.get("/", "id"), None);
}

#[test]
fn finding_a_route_builds_no_tree() {
    let tree = RouteTree::new(&routes(&[("GET", "/items/{id}"), ("GET", "/home")]));
    let built = trees_built_on_this_thread();
    for path in ["/items/1", "/home", "/nothing"] {
        let _ = tree.find(&"GET", path);
    }
    assert_eq!(trees_built_on_this_thread(), built);
    let _ = RouteTree::new(&routes(&[("GET", "/")]));
    assert_eq!(
        trees_built_on_this_thread(),
        built + 1,
        "the counter counts"
    );
}

mod agreement {
    //! The tree against the reference matcher on generated route tables and paths, drawn
    //! from a few segments so that patterns overlap, share prefixes and collide often.

    use proptest::prelude::*;

    use super::super::*;
    use super::outcome;

    const METHODS: [&str; 3] = ["GET", "POST", "PUT"];
    const LITERALS: [&str; 4] = ["a", "b", "items", "new"];

    fn pattern() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                3 => prop::sample::select(LITERALS.to_vec()).prop_map(|text| text.to_owned()),
                2 => Just("{}".to_owned()),
            ],
            0..4,
        )
        .prop_map(|segments| {
            if segments.is_empty() {
                return "/".to_owned();
            }
            segments
                .iter()
                .enumerate()
                .map(|(index, segment)| match segment.as_str() {
                    "{}" => format!("/{{p{index}}}"),
                    literal => format!("/{literal}"),
                })
                .collect()
        })
    }

    fn table() -> impl Strategy<Value = Vec<(&'static str, String)>> {
        prop::collection::vec((prop::sample::select(METHODS.to_vec()), pattern()), 0..10)
    }

    /// Paths built from the same segments, escapes (good, bad, not UTF-8) and empty
    /// segments (`//`, a trailing `/`).
    fn path() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                "a", "b", "items", "new", "x", "", "%61", "%zz", "%E9", "%C3%A9", "a%2Fb",
            ]),
            0..5,
        )
        .prop_map(|segments| {
            segments
                .iter()
                .map(|segment| format!("/{segment}"))
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn the_tree_answers_as_the_reference_does(
            table in table(),
            paths in prop::collection::vec(path(), 1..8),
            method in prop::sample::select(METHODS.to_vec()),
        ) {
            let routes: Vec<(&str, RoutePattern)> = table
                .iter()
                .map(|(method, pattern)| (*method, RoutePattern::parse(pattern).expect("valid")))
                .collect();
            let tree = RouteTree::new(&routes);
            for path in &paths {
                prop_assert_eq!(
                    outcome(tree.find(&method, path), path),
                    outcome(match_route(&routes, &method, path), path),
                    "{} {} against {:?}", method, path, table
                );
            }
        }

        #[test]
        fn the_tree_never_panics_on_any_path(table in table(), path in "\\PC{0,60}") {
            let routes: Vec<(&str, RoutePattern)> = table
                .iter()
                .map(|(method, pattern)| (*method, RoutePattern::parse(pattern).expect("valid")))
                .collect();
            let tree = RouteTree::new(&routes);
            prop_assert_eq!(
                outcome(tree.find(&"GET", &path), &path),
                outcome(match_route(&routes, &"GET", &path), &path)
            );
        }
    }
}
