//! Tests of reading `/admin/plugins` for a new version's fate.

use serde_json::json;

use super::{Verdict, verdict};

#[test]
fn a_serving_version_is_live_with_its_plain_get_routes() {
    let plugins = json!({
        "plugins": [{"name": "kids", "kind": "adapter", "versions": [
            {"version": "0.1.1-dev.1", "state": "draining", "routes": []},
            {"version": "0.1.1-dev.2", "state": "active", "routes": [
                {"method": "POST", "path": "/x"},
                {"method": "GET", "path": "/items/{id}"},
                {"method": "GET", "path": "/hello"},
            ]},
        ]}],
        "failed": [],
    });
    match verdict(&plugins, "kids", "0.1.1-dev.2", "kids-0.1.1-dev.2.so") {
        Some(Verdict::Live { kind, plain_gets }) => {
            assert_eq!(kind, "adapter");
            assert_eq!(plain_gets, ["/hello"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(verdict(&plugins, "kids", "0.1.1-dev.3", "kids-0.1.1-dev.3.so").is_none());
}

#[test]
fn a_refused_file_gives_the_hosts_reason() {
    let plugins = json!({
        "plugins": [],
        "failed": [{"file": "kids-0.1.1-dev.3.so", "plugin": null, "reason": "warm-up failed: no"}],
    });
    match verdict(&plugins, "kids", "0.1.1-dev.3", "kids-0.1.1-dev.3.so") {
        Some(Verdict::Refused(reason)) => assert_eq!(reason, "warm-up failed: no"),
        other => panic!("{other:?}"),
    }
}
