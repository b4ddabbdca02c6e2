//! The host's log filter changes while it runs, and plugins follow it.

use hyper::Method;

use crate::support::{Fixture, HostProcess, TestHost, get, send};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugins_log_level_follows_the_hosts_when_it_changes() {
    let dir = TestHost::plugins_dir();
    Fixture::Misbehaver("1.0.0").deploy_to(dir.path());
    let host = HostProcess::start(dir.path(), [""; 0], "info").await;
    let at = |path: &str| host.url(path);
    let admin = |path: &str| host.admin_url(path);

    // At info, the plugin's debug line is not forwarded. It is emitted before the info
    // line of the same request, so once the info line is in the log, its absence counts.
    assert_eq!(get(&at("/misbehaver/log?n=1")).await.status, 200);
    host.wait_for_log(|log| log.contains("info-marker-1").then_some(()))
        .await;
    assert!(!host.log().contains("debug-marker-1"), "{}", host.log());

    let changed = send(
        Method::PUT,
        &admin("/admin/log-level"),
        &[],
        b"info,plugin=debug".to_vec(),
    )
    .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.json()["plugins_told"], 1);
    assert_eq!(
        get(&admin("/admin/log-level")).await.json()["directives"],
        "info,plugin=debug"
    );

    assert_eq!(get(&at("/misbehaver/log?n=2")).await.status, 200);
    host.wait_for_log(|log| log.contains("info-marker-2").then_some(()))
        .await;
    assert!(host.log().contains("debug-marker-2"), "{}", host.log());

    // Back to info: quiet again.
    let changed = send(
        Method::PUT,
        &admin("/admin/log-level"),
        &[],
        b"info".to_vec(),
    )
    .await;
    assert_eq!(changed.status, 200);
    assert_eq!(get(&at("/misbehaver/log?n=3")).await.status, 200);
    host.wait_for_log(|log| log.contains("info-marker-3").then_some(()))
        .await;
    assert!(!host.log().contains("debug-marker-3"), "{}", host.log());

    // Nonsense directives are refused and change nothing.
    let refused = send(
        Method::PUT,
        &admin("/admin/log-level"),
        &[],
        b"=[bad".to_vec(),
    )
    .await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert_eq!(
        get(&admin("/admin/log-level")).await.json()["directives"],
        "info"
    );
    assert!(host.stop().await, "clean exit");
}
