//! Hot reload through the watched directory: real files, real rebuilt cdylibs, real HTTP.

use std::{io::Write as _, time::Duration};

use hyper::Method;

use crate::support::{Fixture, TestHost, eventually, get, send};

const V1: Fixture = Fixture::Echo("1.0.0");
const V2: Fixture = Fixture::Echo("2.0.0");
const V3: Fixture = Fixture::Echo("3.0.0");

async fn get_with_version(host: &TestHost, path: &str, requirement: &str) -> crate::support::Reply {
    send(
        Method::GET,
        &host.url(path),
        &[("x-frontdoor-version", requirement)],
        Vec::new(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_versions_take_new_requests_while_in_flight_ones_finish_on_theirs() {
    let host = TestHost::with(&[]).await;
    V1.rename_into(host.dir(), "echo-1.0.0.so");
    host.wait_for_version("/echo/hello", "echo@1.0.0").await;

    // A slow request starts on v1 and is still running when v2 lands.
    let slow = tokio::spawn(get_owned(host.url("/echo/slow?ms=1500")));
    host.wait_for_entry("echo", "1.0.0", |entry| entry["in_flight"] == 1)
        .await;
    V2.rename_into(host.dir(), "echo-2.0.0.so");
    host.wait_for_version("/echo/hello", "echo@2.0.0").await;

    // v1 stays loaded beside v2 and can be asked for by requirement.
    let pinned = get_with_version(&host, "/echo/hello", "=1.0.0").await;
    assert_eq!(pinned.adapter(), "echo@1.0.0");
    assert_eq!(pinned.json()["version"], "1.0.0");
    assert_eq!(
        get_with_version(&host, "/echo/hello", "^1").await.adapter(),
        "echo@1.0.0"
    );
    assert_eq!(
        get_with_version(&host, "/echo/hello", ">=1")
            .await
            .adapter(),
        "echo@2.0.0"
    );
    let v1 = host
        .version_entry("echo", "1.0.0")
        .await
        .expect("v1 listed");
    assert_eq!(v1["state"], "standby");
    let v2 = host
        .version_entry("echo", "2.0.0")
        .await
        .expect("v2 listed");
    assert_eq!(v2["state"], "active");

    let slow = slow.await.expect("slow request task");
    assert_eq!(slow.status, 200);
    assert_eq!(slow.adapter(), "echo@1.0.0");
    assert_eq!(
        slow.json()["version"],
        "1.0.0",
        "the in-flight request finished on v1's code"
    );

    // Removing v2 puts v1 back in front; v2 retires.
    std::fs::remove_file(host.dir().join("echo-2.0.0.so")).expect("remove v2");
    host.wait_for_version("/echo/hello", "echo@1.0.0").await;
    host.wait_for_entry("echo", "2.0.0", |entry| entry["state"] == "retired")
        .await;
    let none = get_with_version(&host, "/echo/hello", "^2").await;
    assert_eq!(none.status, 404);
    assert_eq!(none.json()["loaded_versions"], serde_json::json!(["1.0.0"]));
    let plugins = host.plugins().await;
    assert_eq!(plugins["retired"]["count"], 1);
    assert!(plugins["retired"]["bytes"].as_u64().unwrap_or(0) > 0);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_version_drains_before_it_retires() {
    let host = TestHost::with(&[V1, V2]).await;
    host.wait_for_version("/echo/hello", "echo@2.0.0").await;
    let slow = tokio::spawn(get_owned(host.url("/echo/slow?ms=1500")));
    host.wait_for_entry("echo", "2.0.0", |entry| entry["in_flight"] == 1)
        .await;

    std::fs::remove_file(host.dir().join("echo-2.0.0.so")).expect("remove v2");
    host.wait_for_version("/echo/hello", "echo@1.0.0").await;
    let draining = host
        .version_entry("echo", "2.0.0")
        .await
        .expect("v2 still listed");
    assert_eq!(draining["state"], "draining");
    assert_eq!(draining["in_flight"], 1);

    let slow = slow.await.expect("slow request task");
    assert_eq!(slow.status, 200);
    assert_eq!(slow.json()["version"], "2.0.0");
    host.wait_for_entry("echo", "2.0.0", |entry| {
        entry["state"] == "retired" && entry["in_flight"] == 0
    })
    .await;
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_written_file_is_loaded_only_once_complete() {
    let host = TestHost::with(&[V1]).await;
    let bytes = std::fs::read(V2.artifact()).expect("read v2");
    let target = host.dir().join("echo-2.0.0.so");
    let mut file = std::fs::File::create(&target).expect("create artifact in place");
    file.write_all(&bytes[..bytes.len() / 2])
        .expect("write first half");
    file.flush().expect("flush");

    // Longer than the watcher's settle delay: a careless watcher would load half a file.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let plugins = host.plugins().await;
    assert_eq!(
        plugins["failed"],
        serde_json::json!([]),
        "half a file was never tried: {plugins:#}"
    );
    assert!(host.version_entry("echo", "2.0.0").await.is_none());
    assert_eq!(get(&host.url("/echo/hello")).await.adapter(), "echo@1.0.0");

    file.write_all(&bytes[bytes.len() / 2..])
        .expect("write the rest");
    drop(file);
    host.wait_for_version("/echo/hello", "echo@2.0.0").await;
    let plugins = host.plugins().await;
    assert_eq!(plugins["failed"], serde_json::json!([]), "{plugins:#}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_new_version_fails_and_the_previous_one_keeps_serving() {
    let host = TestHost::with(&[V1, V2]).await;
    host.wait_for_version("/echo/hello", "echo@2.0.0").await;

    // A truncated v3 is renamed into place.
    let v3 = std::fs::read(V3.artifact()).expect("read v3");
    let temp = host.dir().join(".echo-3.0.0.so.tmp");
    std::fs::write(&temp, &v3[..v3.len() / 3]).expect("write truncated v3");
    std::fs::rename(&temp, host.dir().join("echo-3.0.0.so")).expect("rename");
    wait_for_failure(&host, "echo-3.0.0.so").await;
    assert!(
        host.failure_reason("echo-3.0.0.so")
            .await
            .contains("truncated")
    );
    assert_eq!(get(&host.url("/echo/hello")).await.adapter(), "echo@2.0.0");

    // Garbage renamed over v2's own file: the build already loaded from it keeps serving.
    std::fs::write(&temp, b"garbage").expect("write garbage");
    std::fs::rename(&temp, host.dir().join("echo-2.0.0.so")).expect("rename over v2");
    wait_for_failure(&host, "echo-2.0.0.so").await;
    assert_eq!(get(&host.url("/echo/hello")).await.adapter(), "echo@2.0.0");
    let v2 = host
        .version_entry("echo", "2.0.0")
        .await
        .expect("v2 listed");
    assert_eq!(v2["state"], "active");

    // An artifact whose manifest names another plugin than its file.
    V3.rename_into(host.dir(), "mobile-3.0.0.so");
    wait_for_failure(&host, "mobile-3.0.0.so").await;
    assert!(
        host.failure_reason("mobile-3.0.0.so")
            .await
            .contains("contains echo@3.0.0")
    );
    assert_eq!(get(&host.url("/mobile/hello")).await.status, 404);

    // A good v3 replacing the broken file is picked up.
    V3.rename_into(host.dir(), "echo-3.0.0.so");
    host.wait_for_version("/echo/hello", "echo@3.0.0").await;
    host.stop().await;
}

async fn get_owned(url: String) -> crate::support::Reply {
    get(&url).await
}

async fn wait_for_failure(host: &TestHost, file: &str) {
    eventually(&format!("{file} listed as failed"), || async {
        let plugins = host.plugins().await;
        let listed = plugins["failed"]
            .as_array()
            .is_some_and(|failed| failed.iter().any(|failure| failure["file"] == file));
        if listed {
            Ok(())
        } else {
            Err(format!("{plugins:#}"))
        }
    })
    .await;
}
