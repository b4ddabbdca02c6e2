//! Request ids end to end (device, plugin, backends, response, log) and the recent-requests
//! rings behind `/admin/requests`.

use frontdoor::{HostConfig, backends::BackendConfig};
use hyper::Method;

use crate::support::{Fixture, HostProcess, Recorder, Reply, TestHost, get, refusing_url, send};

const ECHO: Fixture = Fixture::Echo("1.0.0");

/// A host with the echo fixture, a recording backend and one that refuses connections;
/// only errors and slow requests are kept (no sampling), so what is kept is predictable.
async fn host(recorder: &Recorder) -> TestHost {
    let backends = vec![
        BackendConfig::new("recorder", recorder.url()),
        BackendConfig::new("down", refusing_url()),
    ];
    TestHost::with_config(&[ECHO], move |config: &mut HostConfig| {
        config.backends = backends;
        config.telemetry.recent.sample_one_in = 0;
    })
    .await
}

async fn get_with_id(url: &str, id: &[u8]) -> Reply {
    // Built by hand: the helper takes text, an attacker's id need not be.
    let request = hyper::Request::get(url)
        .header(
            "x-request-id",
            hyper::header::HeaderValue::from_bytes(id).expect("a header value"),
        )
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .expect("request");
    let response = crate::support::client()
        .request(request)
        .await
        .expect("host answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

fn is_generated(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn response_id(reply: &Reply) -> String {
    reply
        .header("x-request-id")
        .expect("every response carries x-request-id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_id_reaches_the_plugin_the_backend_and_the_response() {
    let recorder = Recorder::start().await;
    let host = host(&recorder).await;

    // None sent: one is generated, and the backend gets the one the device sees.
    let reply = get(&host.url("/echo/call/recorder?path=/a")).await;
    assert_eq!(reply.status, 200);
    let id = response_id(&reply);
    assert!(is_generated(&id), "{id}");
    assert_eq!(
        recorder.requests()[0].request_id.as_deref(),
        Some(id.as_str())
    );
    assert_eq!(
        recorder.requests()[0].traceparent,
        None,
        "no traces without an endpoint"
    );

    // The plugin reads the generated one as well.
    let seen = send(
        Method::POST,
        &host.url("/echo/items/1/parts/2"),
        &[],
        Vec::new(),
    )
    .await;
    let generated = response_id(&seen);
    assert!(is_generated(&generated), "{generated}");
    assert_eq!(
        seen.json()["request_id"],
        generated.as_str(),
        "the plugin reads the generated id"
    );

    // A device's own id is used everywhere, as is.
    let reply = get_with_id(&host.url("/echo/call/recorder?path=/b"), b"device-id-42").await;
    assert_eq!(response_id(&reply), "device-id-42");
    assert_eq!(
        recorder.requests()[1].request_id.as_deref(),
        Some("device-id-42")
    );
    let seen = send(
        Method::POST,
        &host.url("/echo/items/1/parts/2"),
        &[("x-request-id", "device-id-43")],
        Vec::new(),
    )
    .await;
    assert_eq!(
        seen.json()["request_id"],
        "device-id-43",
        "the plugin reads it"
    );
    assert_eq!(response_id(&seen), "device-id-43");

    // Errors carry it too, and name it in their body.
    let missing = get_with_id(&host.url("/nobody/here"), b"err-404").await;
    assert_eq!(missing.status, 404);
    assert_eq!(response_id(&missing), "err-404");
    let failed = get_with_id(&host.url("/echo/error"), b"err-500").await;
    assert_eq!(failed.status, 500);
    assert_eq!(response_id(&failed), "err-500");
    let detail = failed.json()["detail"].as_str().unwrap_or("").to_owned();
    assert!(detail.contains("(request err-500)"), "{detail}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_request_id_is_replaced_everywhere_by_a_generated_one() {
    let recorder = Recorder::start().await;
    let host = host(&recorder).await;
    let too_long = vec![b'x'; 129];
    let invalid: [&[u8]; 4] = [&too_long, b"tab\there", b"space here", b"obs\xfftext"];
    for (n, id) in invalid.into_iter().enumerate() {
        let reply = get_with_id(&host.url("/echo/call/recorder?path=/c"), id).await;
        assert_eq!(reply.status, 200);
        let given = response_id(&reply);
        assert!(is_generated(&given), "{id:?} → {given}");
        assert_eq!(
            recorder.requests()[n].request_id.as_deref(),
            Some(given.as_str()),
            "the backend gets the replacement"
        );
        let seen = send(
            Method::POST,
            &host.url("/echo/items/1/parts/2"),
            &[("x-request-id", "bad id")],
            Vec::new(),
        )
        .await;
        let replacement = response_id(&seen);
        assert!(is_generated(&replacement));
        assert_eq!(
            seen.json()["request_id"],
            replacement.as_str(),
            "the plugin too"
        );
    }
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_request_is_kept_with_its_backend_calls_in_order() {
    let recorder = Recorder::start().await;
    let host = host(&recorder).await;

    let failed = get_with_id(
        &host.url("/echo/chain?backends=recorder,down&path=/rows"),
        b"chain-1",
    )
    .await;
    assert_eq!(failed.status, 500);
    // Not kept: a 200 with no failed call, sampling off.
    assert_eq!(
        get_with_id(&host.url("/echo/hello"), b"fine-1")
            .await
            .status,
        200
    );

    let listed = get(&host.admin_url("/admin/requests?adapter=echo")).await;
    assert_eq!(listed.status, 200);
    let listed = listed.json();
    let requests = listed["requests"].as_array().expect("a list");
    assert_eq!(requests.len(), 1, "{listed:#}");
    let entry = &requests[0];
    assert_eq!(entry["request_id"], "chain-1");
    assert_eq!(entry["adapter"], "echo");
    assert_eq!(entry["version"], "1.0.0");
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["route"], "/chain");
    assert_eq!(entry["status"], 500);
    assert_eq!(entry["kept"], "error");
    let calls = entry["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 2, "{entry:#}");
    assert_eq!(calls[0]["backend"], "recorder");
    assert_eq!(calls[0]["method"], "GET");
    assert_eq!(calls[0]["path"], "/rows");
    assert_eq!(calls[0]["outcome"], "ok");
    assert_eq!(calls[0]["status"], 200);
    assert_eq!(calls[0]["attempts"], 1);
    assert_eq!(calls[0]["deduplicated"], false);
    assert_eq!(calls[1]["backend"], "down");
    assert_eq!(calls[1]["outcome"], "error");
    assert_eq!(calls[1]["error"], "Transport");
    assert_eq!(calls[1]["attempts"], 1);
    // In order: the second started after the first ended.
    let offset = |call: &serde_json::Value| call["start_offset_us"].as_u64().expect("offset");
    let ended = offset(&calls[0]) + calls[0]["duration_us"].as_u64().expect("duration");
    assert!(offset(&calls[1]) >= ended, "{calls:#?}");

    let one = get(&host.admin_url("/admin/requests/chain-1")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["calls"], entry["calls"]);
    assert_eq!(
        get(&host.admin_url("/admin/requests/fine-1")).await.status,
        404
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_requests_are_filtered_limited_and_deduplicated_calls_marked() {
    let recorder = Recorder::start().await;
    let host = host(&recorder).await;
    for n in 0..3 {
        let id = format!("fail-{n}");
        let reply = get_with_id(&host.url("/echo/error"), id.as_bytes()).await;
        assert_eq!(reply.status, 500);
    }
    // Two identical GETs to a refusing backend: one call made, one sharing its answer; the
    // request answers 200 but a call failed, so it is kept.
    let shared = get_with_id(&host.url("/echo/fanout/down?n=2&path=/same"), b"dedup-1").await;
    assert_eq!(shared.status, 200);
    assert_eq!(
        get_with_id(&host.url("/echo/nothing-here"), b"miss-1")
            .await
            .status,
        404
    );

    let ids = |reply: Reply| -> Vec<String> {
        reply.json()["requests"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|entry| entry["request_id"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let admin = |query: &str| host.admin_url(&format!("/admin/requests{query}"));
    assert_eq!(
        ids(get(&admin("?status=5xx")).await),
        ["fail-2", "fail-1", "fail-0"]
    );
    assert_eq!(
        ids(get(&admin("?status=5xx&limit=2")).await),
        ["fail-2", "fail-1"]
    );
    assert_eq!(ids(get(&admin("?status=404")).await), ["miss-1"]);
    assert_eq!(ids(get(&admin("?status=2xx")).await), ["dedup-1"]);
    assert!(ids(get(&admin("?adapter=tv")).await).is_empty());
    assert_eq!(ids(get(&admin("?adapter=echo&limit=1")).await), ["miss-1"]);

    let dedup = get(&host.admin_url("/admin/requests/dedup-1")).await.json();
    let calls = dedup["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 2, "{dedup:#}");
    let shared_calls: Vec<bool> = calls
        .iter()
        .map(|call| call["deduplicated"].as_bool().expect("flag"))
        .collect();
    assert_eq!(
        shared_calls.iter().filter(|shared| **shared).count(),
        1,
        "{calls:#?}"
    );
    assert!(calls.iter().all(|call| call["error"] == "Transport"));

    for (query, param) in [
        ("?status=9xx", "status"),
        ("?limit=0", "limit"),
        ("?limit=100000", "limit"),
        ("?colour=red", "colour"),
    ] {
        let refused = get(&admin(query)).await;
        assert_eq!(refused.status, 400, "{query}");
        let detail = refused.json()["detail"].as_str().unwrap_or("").to_owned();
        assert!(detail.starts_with(param), "{query}: {detail}");
    }
    host.stop().await;
}

/// Parses every JSON line of the log; panics on a line that is not one.
fn json_lines(log: &str) -> Vec<serde_json::Value> {
    log.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line:?}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_of_a_request_carry_its_id_from_host_and_plugin() {
    let recorder = Recorder::start().await;
    let dir = TestHost::plugins_dir();
    ECHO.deploy_to(dir.path());
    let backend = format!("recorder={}", recorder.url());
    let host = HostProcess::start(
        dir.path(),
        ["--log-format", "json", "--backend", backend.as_str()],
        "info,frontdoor::access=debug",
    )
    .await;

    let reply = get_with_id(&host.url("/echo/log"), b"log-req-1").await;
    assert_eq!(reply.status, 200);
    let bad = get_with_id(&host.url("/echo/call/recorder?path=/x"), b"bad\tid").await;
    let replacement = response_id(&bad);
    assert_eq!(
        recorder.requests()[0].request_id.as_deref(),
        Some(replacement.as_str())
    );

    let of_request = |id: &str| {
        let id = id.to_owned();
        move |log: &str| {
            let lines: Vec<serde_json::Value> = json_lines(log)
                .into_iter()
                .filter(|line| line["request_id"] == id.as_str())
                .collect();
            // The access line is the request's last.
            lines
                .iter()
                .any(|line| line["target"] == "frontdoor::access")
                .then_some(lines)
        }
    };
    let lines = host.wait_for_log(of_request("log-req-1")).await;
    let message = |line: &serde_json::Value| line["message"].as_str().unwrap_or("").to_owned();
    let plugin_line = |text: &str| {
        lines
            .iter()
            .find(|line| message(line).contains(text))
            .unwrap_or_else(|| panic!("no line {text:?} with the request id in {lines:#?}"))
    };
    // Through the plugin's tracing bridge (no request in the call) and through ctx.log.
    for text in ["through tracing", "through ctx.log"] {
        let line = plugin_line(text);
        assert_eq!(line["plugin"], "echo@1.0.0", "{line}");
        assert_eq!(line["target"], "plugin", "{line}");
    }
    let access = lines
        .iter()
        .find(|line| line["target"] == "frontdoor::access")
        .expect("the host's line");
    assert_eq!(access["plugin"], "echo@1.0.0");
    assert_eq!(access["status"], 200);

    // The refused id is logged under the replacement, the name it goes by.
    let lines = host.wait_for_log(of_request(&replacement)).await;
    assert!(
        lines.iter().any(|line| message(line).contains("refused")),
        "{lines:#?}"
    );
    assert!(host.stop().await);
}
