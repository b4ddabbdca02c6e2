//! Hot reload through the watched directory: real files, real rebuilt cdylibs, real HTTP.

use std::{io::Write as _, time::Duration};

use frontdoor::{HostConfig, backends::BackendConfig};
use hyper::Method;

use crate::support::{Fixture, Gate, TestHost, eventually, get, send};

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
    let gate = Gate::bind().await;
    let host = gated_host(&[], &gate).await;
    V1.rename_into(host.dir(), "echo-1.0.0.so");
    host.wait_for_version("/echo/hello", "echo@1.0.0").await;

    // A request starts on v1 and is held at the gate (the test's own backend) until v2 has
    // taken over: it is in flight for certain, however slow the machine.
    let held_request = tokio::spawn(get_owned(host.url("/echo/gated/gate?path=/hold")));
    let held = gate.next().await;
    assert!(held.head.starts_with("GET /hold "), "{}", held.head);
    let v1 = host
        .version_entry("echo", "1.0.0")
        .await
        .expect("v1 listed");
    assert_eq!(v1["in_flight"], 1, "{v1:#}");
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

    assert_eq!(
        v1["in_flight"], 1,
        "the held request is still on v1: {v1:#}"
    );
    held.answer("released").await;
    let finished = held_request.await.expect("held request task");
    assert_eq!(finished.status, 200);
    assert_eq!(finished.adapter(), "echo@1.0.0");
    let finished = finished.json();
    assert_eq!(
        finished["version"], "1.0.0",
        "the in-flight request finished on v1's code"
    );
    assert_eq!(finished["answer"], "released", "{finished:#}");

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
    let gate = Gate::bind().await;
    let host = gated_host(&[V1, V2], &gate).await;
    host.wait_for_version("/echo/hello", "echo@2.0.0").await;
    let held_request = tokio::spawn(get_owned(host.url("/echo/gated/gate?path=/hold")));
    let held = gate.next().await;

    std::fs::remove_file(host.dir().join("echo-2.0.0.so")).expect("remove v2");
    host.wait_for_version("/echo/hello", "echo@1.0.0").await;
    let draining = host
        .version_entry("echo", "2.0.0")
        .await
        .expect("v2 still listed");
    assert_eq!(draining["state"], "draining");
    assert_eq!(draining["in_flight"], 1);

    held.answer("released").await;
    let finished = held_request.await.expect("held request task");
    assert_eq!(finished.status, 200);
    assert_eq!(finished.json()["version"], "2.0.0");
    host.wait_for_entry("echo", "2.0.0", |entry| {
        entry["state"] == "retired" && entry["in_flight"] == 0
    })
    .await;
    host.stop().await;
}

/// A file still being written is never tried. "Never" needs positive evidence that the
/// deployer looked at the partial file, on both of its paths, before the test concludes
/// that it declined:
/// - events: a marker written and closed *after* the partial write is processed after the
///   partial file's own events (one inotify queue, one channel, one deployer thread), and
///   after a settle delay at least as long as any a careless deployer could have applied
///   to the partial file;
/// - the periodic reconcile: a second marker whose content changes through a hard link
///   outside the watched directory, which produces no event there, so only a reconcile
///   can notice it; two such changes noticed mean a whole reconcile pass ran after the
///   partial file was known to be in progress.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_written_file_is_loaded_only_once_complete() {
    let dir = TestHost::plugins_dir();
    V1.deploy_to(dir.path());
    let outside = TestHost::plugins_dir();
    let reconcile_marker = outside.path().join("reconcile-marker");
    std::fs::write(&reconcile_marker, b"not a plugin").expect("write marker");
    std::fs::hard_link(&reconcile_marker, dir.path().join("marker-1.0.0.so"))
        .expect("link marker into the plugins directory");
    let host = TestHost::start(dir).await;
    let mut marker_reason = host.failure_reason("marker-1.0.0.so").await;

    let bytes = std::fs::read(V2.artifact()).expect("read v2");
    let target = host.dir().join("echo-2.0.0.so");
    let mut file = std::fs::File::create(&target).expect("create artifact in place");
    file.write_all(&bytes[..bytes.len() / 2])
        .expect("write first half");
    file.flush().expect("flush");

    std::fs::write(host.dir().join("junk-1.0.0.so"), b"junk").expect("write event marker");
    wait_for_failure(&host, "junk-1.0.0.so").await;
    for content in [&b""[..], &b"still not a plugin, longer"[..]] {
        std::fs::write(&reconcile_marker, content).expect("rewrite marker outside");
        marker_reason = wait_for_new_reason(&host, "marker-1.0.0.so", &marker_reason).await;
    }

    let plugins = host.plugins().await;
    let failed: Vec<&str> = plugins["failed"]
        .as_array()
        .expect("failed is a list")
        .iter()
        .filter_map(|failure| failure["file"].as_str())
        .collect();
    assert!(
        !failed.contains(&"echo-2.0.0.so"),
        "half a file was tried: {plugins:#}"
    );
    assert!(host.version_entry("echo", "2.0.0").await.is_none());
    assert_eq!(get(&host.url("/echo/hello")).await.adapter(), "echo@1.0.0");

    file.write_all(&bytes[bytes.len() / 2..])
        .expect("write the rest");
    drop(file);
    host.wait_for_version("/echo/hello", "echo@2.0.0").await;
    let plugins = host.plugins().await;
    let mut failed: Vec<&str> = plugins["failed"]
        .as_array()
        .expect("failed is a list")
        .iter()
        .filter_map(|failure| failure["file"].as_str())
        .collect();
    failed.sort_unstable();
    assert_eq!(failed, ["junk-1.0.0.so", "marker-1.0.0.so"], "{plugins:#}");
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

/// A host whose backend `gate` is the test's gate, patient enough that only the test
/// decides when a held request ends.
async fn gated_host(fixtures: &[Fixture], gate: &Gate) -> TestHost {
    let mut backend = BackendConfig::new("gate", gate.url());
    backend.timeout = Duration::from_secs(3600);
    TestHost::with_config(fixtures, move |config: &mut HostConfig| {
        config.backends = vec![backend];
        config.request_deadline = Duration::from_secs(3600);
    })
    .await
}

/// Waits until `/admin/plugins` gives `file` another failure reason than `previous`.
async fn wait_for_new_reason(host: &TestHost, file: &str, previous: &str) -> String {
    eventually(&format!("{file} re-checked"), || async {
        let reason = host.failure_reason(file).await;
        if reason == previous {
            Err(reason)
        } else {
            Ok(())
        }
    })
    .await;
    host.failure_reason(file).await
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
