//! `[fleet]` as operators will get it wrong: every mistake is refused naming its key.

use std::collections::BTreeMap;

use super::*;

const KEY: &str = "RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3";

fn resolve(text: &str) -> Result<FleetConfig, String> {
    let file: FleetFileConfig = toml::from_str(text).map_err(|error| error.to_string())?;
    let owners = BTreeMap::from([("tv".to_owned(), "tv-team".to_owned())]);
    file.resolve(&owners, 8081)
}

fn valid() -> String {
    format!(
        r#"
etcd = ["http://127.0.0.1:2379"]
[store]
endpoint = "http://127.0.0.1:8333"
bucket = "frontdoor"
[keys]
tv-team = ["{KEY}"]
"#
    )
}

#[test]
fn a_complete_table_resolves_with_defaults() {
    let config = resolve(&valid()).expect("valid");
    assert_eq!(config.prefix, "/frontdoor");
    assert!(config.host_id.ends_with(":8081"), "{}", config.host_id);
    assert_eq!(config.lease_ttl, Duration::from_secs(10));
    assert_eq!(config.store.region, "us-east-1");
}

#[test]
fn each_mistake_is_refused_naming_its_key() {
    let cases = [
        (
            valid().replace("etcd = [\"http://127.0.0.1:2379\"]", "etcd = []"),
            "fleet.etcd",
        ),
        (
            valid().replace("http://127.0.0.1:2379", "127.0.0.1:2379"),
            "fleet.etcd",
        ),
        (
            format!("prefix = \"frontdoor\"\n{}", valid()),
            "fleet.prefix",
        ),
        (
            format!("prefix = \"/frontdoor/\"\n{}", valid()),
            "fleet.prefix",
        ),
        (format!("host_id = \"a/b\"\n{}", valid()), "fleet.host_id"),
        (
            format!("lease_ttl_secs = 1\n{}", valid()),
            "fleet.lease_ttl_secs",
        ),
        (
            valid().replace("bucket = \"frontdoor\"", ""),
            "fleet.store.bucket",
        ),
        (
            valid().replace("http://127.0.0.1:8333", "s3.example"),
            "fleet.store.endpoint",
        ),
        (valid().replace(KEY, "RWnotakey"), "fleet.keys.tv-team"),
        (
            valid().replace(&format!("tv-team = [\"{KEY}\"]"), "tv-team = []"),
            "fleet.keys.tv-team",
        ),
        (
            valid().replace(&format!("tv-team = [\"{KEY}\"]"), ""),
            "fleet.keys",
        ),
        (
            valid().replace(
                "[store]\nendpoint = \"http://127.0.0.1:8333\"\nbucket = \"frontdoor\"\n",
                "",
            ),
            "fleet.store",
        ),
    ];
    for (text, key) in cases {
        let error = resolve(&text).expect_err(&text);
        assert!(error.contains(key), "{key}: {error}\n{text}");
    }
    let typo = format!("etcd_endpoints = []\n{}", valid());
    assert!(resolve(&typo).expect_err("typo").contains("etcd_endpoints"));
}
