//! The admin API describes what is loaded.

use crate::support::{Fixture, TestHost, get};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_plugins_lists_versions_states_routes_and_failures() {
    let dir = TestHost::plugins_dir();
    Fixture::Echo("1.0.0").deploy_to(dir.path());
    Fixture::Bench.deploy_to(dir.path());
    std::fs::write(dir.path().join("broken-1.0.0.so"), b"").expect("write empty artifact");
    let host = TestHost::start(dir).await;

    let plugins = host.plugins().await;
    let echo = plugins["plugins"]
        .as_array()
        .expect("plugins is a list")
        .iter()
        .find(|plugin| plugin["name"] == "echo")
        .expect("echo is listed");
    assert_eq!(echo["kind"], "adapter");
    let version = &echo["versions"][0];
    assert_eq!(version["version"], "1.0.0");
    assert_eq!(version["state"], "active");
    assert_eq!(version["file"], "echo-1.0.0.so");
    assert_eq!(version["in_flight"], 0);
    assert_eq!(version["sdk_version"], "0.1.0");
    assert!(version["file_bytes"].as_u64().unwrap_or(0) > 0);
    assert_eq!(
        version["routes"][0],
        serde_json::json!({"method": "GET", "path": "/hello"})
    );
    assert_eq!(
        version["routes"][1],
        serde_json::json!({"method": "POST", "path": "/items/{id}/parts/{part}"})
    );

    let names: Vec<&str> = plugins["plugins"]
        .as_array()
        .expect("plugins is a list")
        .iter()
        .filter_map(|plugin| plugin["name"].as_str())
        .collect();
    assert_eq!(names, ["bench", "echo", "static-bench", "static-fanout"]);

    assert_eq!(
        host.failure_reason("broken-1.0.0.so").await,
        "empty file: not a plugin artifact"
    );
    assert_eq!(plugins["retired"]["count"], 0);

    let health = get(&host.admin_url("/admin/health")).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(health.json()["adapters"], 4);

    let missing = get(&host.admin_url("/admin/nope")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"], "not found");
    host.stop().await;
}
