//! Containment: whatever one version does wrong — panic in a destructor, never finish,
//! block its thread, call host services from its own thread, panic on every request, leak,
//! be built with `panic = "abort"` — costs at most that version's own requests.

use std::time::Duration;

use hyper::Method;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use crate::support::{Fixture, Reply, TestHost, eventually, get, send, within};

const ECHO: Fixture = Fixture::Echo("1.0.0");
const BAD_V1: Fixture = Fixture::Misbehaver("1.0.0");
const BAD_V2: Fixture = Fixture::Misbehaver("2.0.0");

/// Sends one raw HTTP/1.1 GET for `path` on a fresh connection and returns the stream.
async fn raw_get(host: &TestHost, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(host.host.device_addr)
        .await
        .expect("connect to the device listener");
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n").as_bytes())
        .await
        .expect("send the request");
    stream
}

/// Reads one response head and its `content-length` body from `stream`.
async fn read_response(stream: &mut TcpStream) -> (u16, serde_json::Value) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).await.expect("read the response");
        assert!(
            read > 0,
            "connection closed before a full response: {buffer:?}"
        );
        buffer.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&buffer).into_owned();
        let Some(head_end) = text.find("\r\n\r\n") else {
            continue;
        };
        let length: usize = text[..head_end]
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        if buffer.len() >= head_end + 4 + length {
            let status = text[9..12].parse().expect("a status code");
            let body = &buffer[head_end + 4..head_end + 4 + length];
            return (status, serde_json::from_slice(body).expect("a JSON body"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destructor_that_panics_while_the_device_disconnects_costs_nothing_else() {
    let host = TestHost::with_config(&[BAD_V1, ECHO], |config| {
        config.containment.sample_every = Duration::from_millis(10);
    })
    .await;
    let stream = raw_get(&host, "/misbehaver/drop-bomb").await;
    // The handler holds its bomb: the request is in flight.
    host.wait_for_entry("misbehaver", "1.0.0", |entry| entry["in_flight"] == 1)
        .await;
    drop(stream);
    // The device is gone: the host drops the handler future, and with it the bomb.
    host.wait_for_entry("misbehaver", "1.0.0", |entry| entry["in_flight"] == 0)
        .await;
    // The panic in the destructor was contained, and counted against the version.
    host.wait_for_entry("misbehaver", "1.0.0", |entry| {
        entry["health"]["panics"] == 1
    })
    .await;
    assert_eq!(get(&host.url("/echo/hello")).await.status, 200);
    assert_eq!(get(&host.url("/misbehaver/ok")).await.status, 200);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_never_completes_gets_a_504_and_frees_its_connection() {
    let host = TestHost::with_config(&[BAD_V1, ECHO], |config| {
        config.containment.handler_timeout = Some(Duration::from_millis(100));
        config.containment.sample_every = Duration::from_millis(10);
    })
    .await;
    let mut stream = raw_get(&host, "/misbehaver/never").await;
    let (status, body) = read_response(&mut stream).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"], "handler timeout");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("misbehaver@1.0.0")),
        "{body}"
    );
    // The same connection serves the next request: the handler no longer holds it.
    stream
        .write_all(b"GET /misbehaver/ok HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .expect("send a second request");
    let (status, body) = read_response(&mut stream).await;
    assert_eq!(status, 200, "{body}");
    let entry = host
        .version_entry("misbehaver", "1.0.0")
        .await
        .expect("listed");
    assert_eq!(entry["in_flight"], 0);
    assert_eq!(entry["health"]["timeouts"], 1);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_blocks_its_thread_leaves_other_adapters_and_the_admin_api_answering() {
    let host = TestHost::with_config(&[BAD_V1, ECHO], |config| {
        config.containment.max_poll = Duration::from_millis(20);
    })
    .await;
    let barrier = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the barrier");
    let port = barrier.local_addr().expect("address").port();
    let mut blocked = tokio::spawn(get_owned(
        host.url(&format!("/misbehaver/block?port={port}")),
    ));
    // The handler connected: from now on it sits in a blocking read on a worker thread.
    // Bounded, and the early end of the request is named, so a request that never reaches
    // the handler fails the test with its answer instead of hanging it.
    let mut handler_side = within("the handler connecting to the barrier", async {
        tokio::select! {
            accepted = barrier.accept() => accepted.expect("the handler connects").0,
            ended = &mut blocked => panic!("the request ended before its handler connected: {ended:?}"),
        }
    })
    .await;
    let mut hello = [0u8; 8];
    within(
        "the handler saying blocked",
        handler_side.read_exact(&mut hello),
    )
    .await
    .expect("the handler says blocked");

    let other = get(&host.url("/echo/hello")).await;
    assert_eq!(other.status, 200, "another adapter answers");
    // The watchdog sees the blocked poll from outside, and the admin API says so.
    eventually("the admin API reporting the blocked poll", || async {
        let health = get(&host.admin_url("/admin/health")).await;
        let body = health.json();
        let blocked = &body["blocked_polls"];
        if health.status == 200
            && blocked[0]["plugin"] == "misbehaver@1.0.0"
            && blocked[0]["route"] == "GET /block"
        {
            Ok(())
        } else {
            Err(body.to_string())
        }
    })
    .await;

    handler_side
        .write_all(b"!")
        .await
        .expect("release the handler");
    let reply = blocked.await.expect("the blocked request ends");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["released"], true);
    let entry = host
        .version_entry("misbehaver", "1.0.0")
        .await
        .expect("listed");
    assert_eq!(entry["health"]["blocked_polls"], 1, "{entry}");
    assert_eq!(entry["health"]["offloaded"], true, "{entry}");
    // From now on its requests run on the isolation runtime, and still answer.
    assert_eq!(get(&host.url("/misbehaver/ok")).await.status, 200);
    host.stop().await;
}

async fn get_owned(url: String) -> crate::support::Reply {
    get(&url).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_services_work_from_a_thread_the_plugin_spawned() {
    let host = TestHost::with(&[BAD_V1]).await;
    let reply = get(&host.url("/misbehaver/from-thread")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let body = reply.json();
    assert_eq!(body["slept_on_a_plugin_thread"], true, "{body}");
    assert_eq!(body["deadline_seen"], true, "{body}");
    assert_eq!(get(&host.url("/misbehaver/ok")).await.status, 200);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_that_panics_on_every_request_is_quarantined_and_the_previous_one_serves() {
    let host = TestHost::with_config(&[BAD_V1, BAD_V2], |config| {
        config.containment.quarantine.panics = 5;
        config.containment.quarantine.window = Duration::from_secs(3600);
    })
    .await;
    assert_eq!(
        get(&host.url("/misbehaver/ok")).await.adapter(),
        "misbehaver@2.0.0"
    );
    for _ in 0..5 {
        let reply = get(&host.url("/misbehaver/panic")).await;
        assert_eq!(reply.status, 500);
        assert_eq!(reply.adapter(), "misbehaver@2.0.0");
    }
    let entry = host
        .version_entry("misbehaver", "2.0.0")
        .await
        .expect("listed");
    assert_eq!(entry["state"], "quarantined", "{entry}");
    assert!(
        entry["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("5 panics")),
        "{entry}"
    );
    // The previous version takes the default traffic.
    let reply = get(&host.url("/misbehaver/ok")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.adapter(), "misbehaver@1.0.0");
    let v1 = host
        .version_entry("misbehaver", "1.0.0")
        .await
        .expect("listed");
    assert_eq!(v1["state"], "active", "{v1}");
    // Asking for the quarantined version by header gets the same answer as having none.
    let pinned = send(
        Method::GET,
        &host.url("/misbehaver/ok"),
        &[("x-frontdoor-version", "=2.0.0")],
        Vec::new(),
    )
    .await;
    assert_eq!(pinned.status, 503, "{:?}", pinned.body);

    // Once every version is quarantined, devices get a 503 naming the adapter.
    for _ in 0..5 {
        let reply = send(
            Method::GET,
            &host.url("/misbehaver/panic"),
            &[("x-frontdoor-version", "=1.0.0")],
            Vec::new(),
        )
        .await;
        assert_eq!(reply.status, 500);
    }
    let reply = get(&host.url("/misbehaver/ok")).await;
    assert_eq!(reply.status, 503);
    let body = reply.json();
    assert_eq!(body["error"], "adapter unavailable");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("misbehaver") && d.contains("quarantined")),
        "{body}"
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_build_of_a_quarantined_version_lifts_the_quarantine() {
    let host = TestHost::with_config(&[BAD_V1], |config| {
        config.containment.quarantine.panics = 2;
    })
    .await;
    for _ in 0..2 {
        assert_eq!(get(&host.url("/misbehaver/panic")).await.status, 500);
    }
    assert_eq!(get(&host.url("/misbehaver/ok")).await.status, 503);
    // The team ships a new build of the same version under the same name.
    BAD_V1.rename_into(host.dir(), &BAD_V1.file_name());
    host.wait_for_version("/misbehaver/ok", "misbehaver@1.0.0")
        .await;
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_that_leaks_past_its_memory_limit_is_quarantined() {
    // Between 4 and 5 MiB leaked, with room for the copy's own few kilobytes: only the
    // fifth leak crosses it, so the warning comes before the growth that condemns it.
    const LIMIT: u64 = 4 * 1024 * 1024 + 512 * 1024;
    let host = TestHost::with_config(&[BAD_V1, BAD_V2], |config| {
        config
            .containment
            .memory_limits
            .insert("misbehaver".into(), LIMIT);
        config.containment.sample_every = Duration::from_millis(10);
    })
    .await;
    // 5 MiB leaked: over the limit, which the monitor first reports as a warning.
    for _ in 0..5 {
        let reply = get(&host.url("/misbehaver/leak?kb=1024")).await;
        assert_eq!(reply.adapter(), "misbehaver@2.0.0");
    }
    host.wait_for_entry("misbehaver", "2.0.0", |entry| {
        entry["memory"]["over_limit"] == true && entry["state"] == "active"
    })
    .await;
    let entry = host
        .version_entry("misbehaver", "2.0.0")
        .await
        .expect("listed");
    assert!(
        entry["memory"]["live_bytes"].as_u64() > Some(5 * 1024 * 1024 - 1),
        "{entry}"
    );
    assert_eq!(entry["memory"]["limit_bytes"], LIMIT);
    // It keeps growing past it: quarantined, and the previous version takes the traffic.
    assert_eq!(get(&host.url("/misbehaver/leak?kb=1024")).await.status, 200);
    host.wait_for_entry("misbehaver", "2.0.0", |entry| {
        entry["state"] == "quarantined"
    })
    .await;
    let entry = host
        .version_entry("misbehaver", "2.0.0")
        .await
        .expect("listed");
    assert!(
        entry["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("kept growing")),
        "{entry}"
    );
    let reply = get(&host.url("/misbehaver/ok")).await;
    assert_eq!(reply.adapter(), "misbehaver@1.0.0");
    // The healthy version's heap is its own, far under the limit.
    let v1 = host
        .version_entry("misbehaver", "1.0.0")
        .await
        .expect("listed");
    assert!(v1["memory"]["live_bytes"].as_u64() < Some(LIMIT), "{v1}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_built_with_panic_abort_is_refused() {
    let host = TestHost::with(&[Fixture::MisbehaverPanicAbort, ECHO]).await;
    let reason = host.failure_reason("misbehaver-1.0.0.so").await;
    assert!(reason.contains("panic = \"abort\""), "{reason}");
    assert_eq!(get(&host.url("/misbehaver/ok")).await.status, 404);
    assert_eq!(get(&host.url("/echo/hello")).await.status, 200);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_mapped_library_cap_loads_are_refused_with_a_reason() {
    let host = TestHost::with_config(&[ECHO, Fixture::Echo("1.1.0")], |config| {
        config.containment.max_mapped_libraries = 2;
    })
    .await;
    let plugins = host.plugins().await;
    assert_eq!(plugins["mapped"]["count"], 2, "{plugins:#}");
    assert_eq!(plugins["mapped"]["limit"], 2);
    Fixture::Echo("1.2.0").rename_into(host.dir(), "echo-1.2.0.so");
    crate::support::eventually("echo-1.2.0.so refused", || async {
        let plugins = host.plugins().await;
        let refused = plugins["failed"]
            .as_array()
            .and_then(|failed| failed.iter().find(|f| f["file"] == "echo-1.2.0.so"))
            .and_then(|failure| failure["reason"].as_str().map(str::to_owned));
        match refused {
            Some(reason) if reason.contains("max_mapped_libraries = 2") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    // What was loaded keeps serving.
    assert_eq!(get(&host.url("/echo/hello")).await.adapter(), "echo@1.1.0");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_specific_headers_a_plugin_sets_are_dropped() {
    let host = TestHost::with(&[BAD_V1]).await;
    let reply = get(&host.url("/misbehaver/headers")).await;
    assert_eq!(reply.status, 200);
    for forbidden in [
        "keep-alive",
        "upgrade",
        "te",
        "proxy-connection",
        "transfer-encoding",
    ] {
        assert!(
            reply.header(forbidden).is_none(),
            "{forbidden} was forwarded"
        );
    }
    assert_eq!(reply.header("x-misbehaver"), Some("kept"));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_cannot_forge_who_answered_or_the_request_id() {
    let host = TestHost::with(&[BAD_V1]).await;
    let url = host.url("/misbehaver/headers");
    let values = |reply: &Reply, name: &str| -> Vec<String> {
        reply
            .headers
            .get_all(name)
            .iter()
            .map(|value| value.to_str().expect("ASCII").to_owned())
            .collect()
    };
    let generated = get(&url).await;
    assert_eq!(
        values(&generated, "x-frontdoor-adapter"),
        ["misbehaver@1.0.0"]
    );
    let ids = values(&generated, "x-request-id");
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(
        ids[0].len(),
        32,
        "a generated id, not the plugin's: {ids:?}"
    );
    let device = send(
        Method::GET,
        &url,
        &[("x-request-id", "device-chosen-7")],
        Vec::new(),
    )
    .await;
    assert_eq!(values(&device, "x-request-id"), ["device-chosen-7"]);
    assert_eq!(values(&device, "content-type"), ["application/json"]);
    host.stop().await;
}

/// The fault the supervision test injects: the deployer panics on files named `explode-*`.
fn explode_on(path: &std::path::Path) {
    if path
        .file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with("explode-"))
    {
        panic!("injected fault: the deployer trips on {}", path.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_the_deployer_thread_is_survived_and_hot_reload_goes_on() {
    let host = TestHost::with_config(&[], |config| {
        config.deployer.fault_injection = Some(explode_on);
    })
    .await;
    ECHO.rename_into(host.dir(), "explode-1.0.0.so");
    eventually("the file that crashed the deployer refused", || async {
        let plugins = host.plugins().await;
        let listed = plugins["failed"]
            .as_array()
            .is_some_and(|failed| failed.iter().any(|f| f["file"] == "explode-1.0.0.so"));
        if listed {
            Ok(())
        } else {
            Err(plugins.to_string())
        }
    })
    .await;
    let reason = host.failure_reason("explode-1.0.0.so").await;
    assert!(reason.contains("the deployer panicked"), "{reason}");
    assert!(reason.contains("injected fault"), "{reason}");
    // The restarted deployer reconciled the directory at once, passing over the refused
    // file without tripping again; hot reload still works.
    ECHO.rename_into(host.dir(), &ECHO.file_name());
    host.wait_for_version("/echo/hello", "echo@1.0.0").await;
    let health = get(&host.admin_url("/admin/health")).await.json();
    assert_eq!(health["deployer_restarts"], 1, "{health}");
    host.stop().await;
}
