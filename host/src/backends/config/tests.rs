//! `[backends.NAME]` keys of the service layer's opt-in features, and the errors naming them.

use super::*;

fn resolve(text: &str) -> Result<BackendConfig, String> {
    let file: BackendFileConfig = toml::from_str(text).expect("a backend table");
    file.resolve("catalog")
}

#[test]
fn sharing_and_hedging_are_off_unless_asked_for() {
    let config = resolve("url = \"http://127.0.0.1:9001\"").expect("valid");
    assert!(!config.share_in_flight);
    assert!(!config.hedge.enabled);
    assert_eq!(config.hedge.after, None);
}

#[test]
fn the_keys_turn_them_on() {
    let config = resolve(
        "url = \"http://127.0.0.1:9001\"\nshare_in_flight = true\nhedge = true\nhedge_after_ms = 40",
    )
    .expect("valid");
    assert!(config.share_in_flight);
    assert!(config.hedge.enabled);
    assert_eq!(config.hedge.after, Some(Duration::from_millis(40)));
    let estimated = resolve("url = \"http://127.0.0.1:9001\"\nhedge = true").expect("valid");
    assert_eq!(estimated.hedge.after, None, "the recent p95 decides");
}

#[test]
fn hedge_settings_that_cannot_work_are_refused_naming_the_key() {
    let cases = [
        (
            "hedge_after_ms = 40",
            "backends.catalog.hedge_after_ms is set but backends.catalog.hedge is not true",
        ),
        (
            "hedge = true\nhedge_after_ms = 0",
            "backends.catalog.hedge_after_ms must be at least 1",
        ),
        (
            "hedge = true\nhedge_after_ms = 1000",
            "backends.catalog.hedge_after_ms (1000) must be below backends.catalog.timeout_ms (1000)",
        ),
        (
            "hedge = true\n[retry]\nbudget_percent = 0",
            "backends.catalog.hedge needs backends.catalog.retry.budget_percent above 0",
        ),
    ];
    for (keys, expected) in cases {
        let error = resolve(&format!("url = \"http://127.0.0.1:9001\"\n{keys}")).expect_err(keys);
        assert!(error.starts_with(expected), "{keys:?}: {error}");
    }
}

#[test]
fn a_key_of_the_wrong_type_is_named_by_the_parser() {
    let error = toml::from_str::<BackendFileConfig>(
        "url = \"http://127.0.0.1:9001\"\nshare_in_flight = \"yes\"",
    )
    .expect_err("a string is not a bool")
    .to_string();
    assert!(error.contains("share_in_flight"), "{error}");
}
