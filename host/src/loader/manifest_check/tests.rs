//! Manifest checks: the ABI generations this host speaks, and routes checked with the
//! SDK's own rules.

use abi_stable::std_types::{RString, RVec};
use frontdoor_plugin_api::{Manifest, PanicStrategy, PluginKind, RouteSpec};

use super::validate;

fn manifest(abi_version: u32, routes: &[(&str, &str)]) -> Manifest {
    Manifest {
        abi_version,
        sdk_version: RString::from("0.1.0"),
        name: RString::from("tv"),
        version: RString::from("1.0.0"),
        kind: PluginKind::Adapter,
        routes: routes
            .iter()
            .map(|(method, path)| RouteSpec {
                method: RString::from(*method),
                path: RString::from(*path),
            })
            .collect::<RVec<_>>(),
        requires: RVec::new(),
        panic_strategy: PanicStrategy::Unwind,
    }
}

#[test]
fn v2_and_v3_with_an_init_hook_load_and_the_rest_is_refused() {
    for version in [2, 3] {
        assert!(validate(&manifest(version, &[("GET", "/home")])).is_ok());
    }
    for version in [1, 4, 99] {
        let error = validate(&manifest(version, &[("GET", "/home")]))
            .expect_err("another generation")
            .to_string();
        assert!(
            error.contains(&format!("built against Frontdoor ABI v{version}")),
            "{error}"
        );
    }
}

#[test]
fn routes_an_sdk_would_not_compile_are_refused_at_load_too() {
    let cases = [
        (
            ("FETCH", "/home"),
            "route method \"FETCH\" is not supported",
        ),
        (("GET", "/items/{id"), "a parameter must be a whole segment"),
        (("GET", "/{id}/{id}"), "a parameter name appears twice"),
        (("GET", "items"), "the path must start with '/'"),
    ];
    for ((method, path), expected) in cases {
        let error = validate(&manifest(2, &[(method, path)]))
            .expect_err(path)
            .to_string();
        assert!(error.contains(expected), "{method} {path}: {error}");
    }
    let error = validate(&manifest(
        2,
        &[("GET", "/items/{id}"), ("GET", "/items/{x}")],
    ))
    .expect_err("same shape twice")
    .to_string();
    assert!(error.contains("declared twice"), "{error}");
}
