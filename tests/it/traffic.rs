//! Canaries and shadows through a real host: the judge rolls back a canary that fails or
//! slows down and promotes a healthy one, devices keep their side, and shadows compare
//! without the device ever seeing them. Judgements are triggered explicitly
//! (`POST .../canary/judge`) or, where the interval loop itself is shown, awaited with a
//! bounded wait whose outcome does not depend on timing.

use std::collections::HashMap;

use hyper::Method;
use serde_json::{Value, json};

use crate::support::{
    Fixture, HttpClient, Reply, TestHost, client, eventually, send, try_send, within,
};

const BASELINE: Fixture = Fixture::Canaried {
    version: "1.0.0",
    behaviour: "healthy",
};

fn canary(behaviour: &'static str) -> Fixture {
    Fixture::Canaried {
        version: "2.0.0",
        behaviour,
    }
}

/// A judge interval no test waits for: judgements are triggered.
const NEVER: u64 = 3_600_000;

async fn admin(host: &TestHost, method: Method, path: &str, body: Option<Value>) -> Reply {
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    send(
        method,
        &host.admin_url(path),
        &[("content-type", "application/json")],
        body,
    )
    .await
}

/// `GET /canaried/work` as device `device` (no sticky key when `None`).
async fn work(host: &TestHost, client: &HttpClient, device: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = device.map(|d| ("x-device-id", d)).into_iter().collect();
    try_send(
        client,
        Method::GET,
        &host.url("/canaried/work"),
        &headers,
        Vec::new(),
    )
    .await
    .expect("the device request is answered")
}

/// Sends requests from many devices until each side of the open interval counted `min`;
/// bounded in count.
async fn traffic_until_both_sides_have(host: &TestHost, min: u64) {
    let client = client();
    for round in 0..40 {
        for i in 0..25 {
            work(host, &client, Some(&format!("device-{round}-{i}"))).await;
        }
        let plan = admin(host, Method::GET, "/admin/adapters/canaried/canary", None)
            .await
            .json();
        let open = &plan["open_interval"];
        if open["baseline_requests"].as_u64() >= Some(min)
            && open["canary_requests"].as_u64() >= Some(min)
        {
            return;
        }
    }
    panic!("1000 requests did not give both sides {min} requests");
}

async fn start_canary(host: &TestHost, body: Value) -> Value {
    let reply = admin(
        host,
        Method::POST,
        "/admin/adapters/canaried/canary",
        Some(body),
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.json());
    reply.json()
}

#[tokio::test]
async fn a_canary_failing_a_fifth_of_its_requests_is_rolled_back_by_the_judge_loop() {
    let host = TestHost::with(&[BASELINE, canary("fail-20")]).await;
    let plan = start_canary(
        &host,
        json!({ "canary": "2.0.0", "weight": 50, "steps": [100], "interval_ms": 300, "min_requests": 20 }),
    )
    .await;
    // 2.0.0 is the highest, hence the default: the baseline defaults to the version below.
    assert_eq!(plan["settings"]["baseline"], "1.0.0");

    // Devices keep coming; nobody judges by hand. The loop judges every 300 ms, and an
    // interval with too few requests is only inconclusive, so the wait is bounded but its
    // outcome does not depend on timing.
    let client = client();
    let mut device = 0;
    eventually("the judge loop rolling the canary back", || {
        let (host, client) = (&host, &client);
        device += 1;
        let round = device;
        async move {
            for i in 0..20 {
                work(host, client, Some(&format!("device-{round}-{i}"))).await;
            }
            let plan = admin(host, Method::GET, "/admin/adapters/canaried/canary", None)
                .await
                .json();
            if plan["phase"] == "rolled_back" {
                Ok(())
            } else {
                Err(plan.to_string())
            }
        }
    })
    .await;

    let plan = admin(&host, Method::GET, "/admin/adapters/canaried/canary", None)
        .await
        .json();
    assert_eq!(plan["weight"], 0.0);
    let verdicts = plan["verdicts"].as_array().expect("verdicts");
    let last = verdicts.last().expect("a verdict");
    assert_eq!(
        (
            last["outcome"].as_str(),
            last["action"].as_str(),
            last["cause"].as_str()
        ),
        (Some("fail"), Some("rolled back"), Some("interval")),
        "{last:#}"
    );
    assert!(
        last["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("5xx rate regressed: canary ")),
        "{last:#}"
    );
    assert_eq!(last["baseline"]["errors"], 0);
    assert!(
        last["canary"]["error_rate"]
            .as_f64()
            .is_some_and(|rate| rate > 0.15),
        "{last:#}"
    );
    assert!(
        plan["ended"]
            .as_str()
            .is_some_and(|why| why.contains("rolled back by the judge"))
    );

    // Weight 0: every default request goes to the baseline.
    for i in 0..40 {
        let reply = work(&host, &client, Some(&format!("after-{i}"))).await;
        assert_eq!((reply.status, reply.adapter()), (200, "canaried@1.0.0"));
    }
    host.stop().await;
}

#[tokio::test]
async fn a_three_times_slower_canary_is_rolled_back_with_its_numbers() {
    let host = TestHost::with(&[BASELINE, canary("slow-3x")]).await;
    start_canary(
        &host,
        json!({ "canary": "2.0.0", "baseline": "1.0.0", "weight": 50, "interval_ms": NEVER, "min_requests": 30 }),
    )
    .await;
    traffic_until_both_sides_have(&host, 30).await;
    let verdict = admin(
        &host,
        Method::POST,
        "/admin/adapters/canaried/canary/judge",
        None,
    )
    .await;
    assert_eq!(verdict.status, 200);
    let verdict = verdict.json();
    assert_eq!(
        (verdict["outcome"].as_str(), verdict["action"].as_str()),
        (Some("fail"), Some("rolled back")),
        "{verdict:#}"
    );
    assert!(
        verdict["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("latency regressed")),
        "{verdict:#}"
    );
    let test = &verdict["mann_whitney"];
    assert!(test["p"].as_f64().is_some_and(|p| p < 0.01), "{verdict:#}");
    assert!(test["u"].as_f64().is_some() && test["z"].as_f64().is_some_and(|z| z > 2.0));
    let (canary, baseline) = (
        verdict["canary"]["median_ms"]
            .as_f64()
            .expect("canary median"),
        verdict["baseline"]["median_ms"]
            .as_f64()
            .expect("baseline median"),
    );
    assert!(canary > baseline * 1.2, "{verdict:#}");

    let plan = admin(&host, Method::GET, "/admin/adapters/canaried/canary", None)
        .await
        .json();
    assert_eq!(
        (plan["phase"].as_str(), plan["weight"].as_f64()),
        (Some("rolled_back"), Some(0.0))
    );
    // A finished plan cannot be judged again; a new one may start.
    let again = admin(
        &host,
        Method::POST,
        "/admin/adapters/canaried/canary/judge",
        None,
    )
    .await;
    assert_eq!(again.status, 409);
    host.stop().await;
}

#[tokio::test]
async fn a_healthy_canary_is_stepped_up_then_promoted_and_devices_keep_their_side() {
    let host = TestHost::with(&[BASELINE, canary("healthy")]).await;
    start_canary(
        &host,
        json!({
            "canary": "2.0.0", "weight": 20, "steps": [50, 100], "interval_ms": NEVER,
            "min_requests": 20, "alpha": 0.001, "latency_margin": 0.5
        }),
    )
    .await;
    let client = client();
    let devices: Vec<String> = (0..200).map(|i| format!("tv-{i}")).collect();
    let mut first: HashMap<&str, String> = HashMap::new();
    for device in &devices {
        first.insert(
            device,
            work(&host, &client, Some(device))
                .await
                .adapter()
                .to_owned(),
        );
    }
    let on_canary = first.values().filter(|v| *v == "canaried@2.0.0").count();
    assert!(
        (20..=70).contains(&on_canary),
        "{on_canary} of 200 devices at 20%"
    );
    // The same device, again and again: the same version while the weight holds.
    for device in &devices {
        for _ in 0..2 {
            assert_eq!(
                work(&host, &client, Some(device)).await.adapter(),
                first[device.as_str()],
                "{device}"
            );
        }
    }

    let verdict = admin(
        &host,
        Method::POST,
        "/admin/adapters/canaried/canary/judge",
        None,
    )
    .await
    .json();
    assert_eq!(
        (verdict["outcome"].as_str(), verdict["action"].as_str()),
        (Some("pass"), Some("stepped to 50%")),
        "{verdict:#}"
    );

    // At 50%, devices only move towards the canary.
    let mut moved = 0;
    for device in &devices {
        let now = work(&host, &client, Some(device))
            .await
            .adapter()
            .to_owned();
        if first[device.as_str()] == "canaried@2.0.0" {
            assert_eq!(
                now, "canaried@2.0.0",
                "{device} left the canary as its weight rose"
            );
        } else if now == "canaried@2.0.0" {
            moved += 1;
        }
    }
    assert!(moved > 0, "no device moved to the canary at 50%");
    // Requests without a sticky key are split at random, still between the two versions.
    for _ in 0..20 {
        let reply = work(&host, &client, None).await;
        assert!(["canaried@1.0.0", "canaried@2.0.0"].contains(&reply.adapter()));
    }

    traffic_until_both_sides_have(&host, 20).await;
    let verdict = admin(
        &host,
        Method::POST,
        "/admin/adapters/canaried/canary/judge",
        None,
    )
    .await
    .json();
    assert_eq!(
        (verdict["outcome"].as_str(), verdict["action"].as_str()),
        (Some("pass"), Some("promoted")),
        "{verdict:#}"
    );
    let plan = admin(&host, Method::GET, "/admin/adapters/canaried/canary", None)
        .await
        .json();
    assert_eq!(plan["phase"], "promoted");
    assert_eq!(plan["pinned"], false);
    assert_eq!(plan["verdicts"].as_array().map(Vec::len), Some(2));
    for device in &devices[..50] {
        assert_eq!(
            work(&host, &client, Some(device)).await.adapter(),
            "canaried@2.0.0"
        );
    }
    host.stop().await;
}

#[tokio::test]
async fn operators_promote_and_abort_by_hand_and_bad_input_is_refused() {
    let host = TestHost::with(&[BASELINE, canary("healthy")]).await;
    let path = "/admin/adapters/canaried/canary";
    let refused = |status: u16, reply: Reply| {
        assert_eq!(
            reply.status,
            status,
            "{:?}",
            String::from_utf8_lossy(&reply.body)
        );
        reply.json()
    };
    let unknown = refused(
        404,
        admin(
            &host,
            Method::POST,
            "/admin/adapters/nope/canary",
            Some(json!({"canary": "1.0.0"})),
        )
        .await,
    );
    assert!(
        unknown["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no adapter nope"))
    );
    let version = refused(
        404,
        admin(&host, Method::POST, path, Some(json!({"canary": "3.0.0"}))).await,
    );
    assert_eq!(version["loaded_versions"], json!(["2.0.0", "1.0.0"]));
    refused(
        409,
        admin(
            &host,
            Method::POST,
            path,
            Some(json!({"canary": "2.0.0", "baseline": "2.0.0"})),
        )
        .await,
    );
    refused(
        400,
        admin(
            &host,
            Method::POST,
            path,
            Some(json!({"canary": "2.0.0", "weight": 150})),
        )
        .await,
    );
    refused(
        400,
        admin(
            &host,
            Method::POST,
            path,
            Some(json!({"canary": "2.0.0", "weight": 0})),
        )
        .await,
    );
    refused(
        400,
        admin(
            &host,
            Method::POST,
            path,
            Some(json!({"canary": "2.0.0", "steps": [5]})),
        )
        .await,
    );
    refused(
        400,
        admin(
            &host,
            Method::POST,
            path,
            Some(json!({"canary": "2.0.0", "colour": "red"})),
        )
        .await,
    );
    refused(
        400,
        admin(&host, Method::POST, path, Some(json!({"canary": "two"}))).await,
    );
    refused(404, admin(&host, Method::GET, path, None).await);
    refused(
        404,
        admin(&host, Method::POST, &format!("{path}/promote"), None).await,
    );
    refused(405, admin(&host, Method::PUT, path, None).await);
    refused(
        405,
        admin(&host, Method::GET, &format!("{path}/abort"), None).await,
    );

    start_canary(&host, json!({ "canary": "2.0.0", "interval_ms": NEVER })).await;
    refused(
        409,
        admin(&host, Method::POST, path, Some(json!({"canary": "2.0.0"}))).await,
    );
    let aborted = admin(&host, Method::POST, &format!("{path}/abort"), None)
        .await
        .json();
    assert_eq!(
        (aborted["phase"].as_str(), aborted["weight"].as_f64()),
        (Some("aborted"), Some(0.0))
    );
    let client = client();
    for i in 0..20 {
        assert_eq!(
            work(&host, &client, Some(&format!("d{i}"))).await.adapter(),
            "canaried@1.0.0"
        );
    }
    // A finished plan is replaced by a new one, which an operator promotes.
    start_canary(&host, json!({ "canary": "2.0.0", "interval_ms": NEVER })).await;
    let promoted = admin(&host, Method::POST, &format!("{path}/promote"), None)
        .await
        .json();
    assert_eq!(promoted["phase"], "promoted");
    refused(
        409,
        admin(&host, Method::POST, &format!("{path}/abort"), None).await,
    );
    for i in 0..20 {
        assert_eq!(
            work(&host, &client, Some(&format!("d{i}"))).await.adapter(),
            "canaried@2.0.0"
        );
    }
    assert_eq!(admin(&host, Method::DELETE, path, None).await.status, 200);
    refused(404, admin(&host, Method::GET, path, None).await);

    // Shadows: bad input.
    let shadow = "/admin/adapters/canaried/shadow";
    refused(404, admin(&host, Method::GET, shadow, None).await);
    refused(
        400,
        admin(
            &host,
            Method::POST,
            shadow,
            Some(json!({"target": "1.0.0", "share": 0})),
        )
        .await,
    );
    refused(
        400,
        admin(
            &host,
            Method::POST,
            shadow,
            Some(json!({"target": "1.0.0", "share": 101})),
        )
        .await,
    );
    refused(
        404,
        admin(
            &host,
            Method::POST,
            shadow,
            Some(json!({"target": "9.9.9", "share": 10})),
        )
        .await,
    );
    refused(
        409,
        admin(
            &host,
            Method::POST,
            shadow,
            Some(json!({"target": "2.0.0", "share": 10})),
        )
        .await,
    );
    host.stop().await;
}

#[tokio::test]
async fn a_shadow_with_a_changed_body_reports_diffs_while_devices_see_the_primary() {
    let primary = canary("healthy");
    let shadow = Fixture::Canaried {
        version: "1.5.0",
        behaviour: "changed-body",
    };
    let host = TestHost::with(&[primary, shadow]).await;
    let path = "/admin/adapters/canaried/shadow";
    let set = admin(
        &host,
        Method::POST,
        path,
        Some(json!({ "target": "1.5.0", "share": 100, "ignore": ["generated_at", "/version"] })),
    )
    .await;
    assert_eq!(set.status, 201, "{:?}", set.json());

    let client = client();
    for i in 0..30 {
        let reply = work(&host, &client, Some(&format!("d{i}"))).await;
        assert_eq!((reply.status, reply.adapter()), (200, "canaried@2.0.0"));
        assert_eq!(
            reply.json()["items"],
            json!([1, 2, 3]),
            "the device sees the primary's body"
        );
    }
    let report = wait_for_report(&host, |r| r["compared"].as_u64() == Some(30)).await;
    assert_eq!(report["matched"], 0);
    assert_eq!(report["match_rate"], 0.0);
    let diffs = report["sample_diffs"].as_array().expect("sample diffs");
    assert!(
        !diffs.is_empty() && diffs.len() <= 20,
        "bounded: {}",
        diffs.len()
    );
    let places: Vec<&str> = diffs[0]["differences"]
        .as_array()
        .expect("differences")
        .iter()
        .filter_map(|d| d["at"].as_str())
        .collect();
    // Not `/request_id` either: the shadow reads the device request's id (here the host's
    // generated one, which it never added to the device's headers) from its copy.
    assert_eq!(
        places,
        ["/items/2"],
        "ignored fields are ignored: {:#}",
        diffs[0]
    );
    assert_eq!(diffs[0]["request"], "GET /canaried/work");
    for side in ["primary_latency_ms", "shadow_latency_ms"] {
        assert_eq!(report[side]["count"], 30, "{side}");
        assert!(report[side]["p50"].as_f64().is_some() && report[side]["p99"].as_f64().is_some());
    }

    // Ignoring the changed field too, every comparison matches.
    let set = admin(&host, Method::POST, path, Some(json!({ "target": "1.5.0", "share": 100, "ignore": ["generated_at", "/version", "items"] }))).await;
    assert_eq!(set.status, 201);
    for i in 0..10 {
        work(&host, &client, Some(&format!("d{i}"))).await;
    }
    let report = wait_for_report(&host, |r| r["compared"].as_u64() == Some(10)).await;
    assert_eq!(report["match_rate"], 1.0);
    let removed = admin(&host, Method::DELETE, path, None).await;
    assert_eq!(removed.status, 200);
    assert_eq!(admin(&host, Method::GET, path, None).await.status, 404);
    host.stop().await;
}

#[tokio::test]
async fn a_hanging_or_panicking_shadow_never_touches_the_device_s_answer() {
    let shadow = Fixture::Canaried {
        version: "1.5.0",
        behaviour: "broken",
    };
    let host = TestHost::with_config(&[canary("healthy"), shadow], |config| {
        config.traffic.shadow_max_concurrent = 2;
        config.traffic.shadow_timeout = std::time::Duration::from_millis(200);
    })
    .await;
    let set = admin(
        &host,
        Method::POST,
        "/admin/adapters/canaried/shadow",
        Some(json!({ "target": "1.5.0", "share": 100 })),
    )
    .await;
    assert_eq!(set.status, 201);
    let client = client();
    for i in 0..30 {
        // Each answer arrives while shadows hang for an hour (or panic): the device never
        // waits on its shadow, and gets the primary's answer.
        let reply = within(
            "a device answer beside a hanging shadow",
            work(&host, &client, Some(&format!("d{i}"))),
        )
        .await;
        assert_eq!((reply.status, reply.adapter()), (200, "canaried@2.0.0"));
        assert_eq!(reply.json()["items"], json!([1, 2, 3]));
    }
    let report = wait_for_report(&host, |r| {
        let settled = r["compared"].as_u64().unwrap_or(0)
            + r["timed_out"].as_u64().unwrap_or(0)
            + r["skipped_busy"].as_u64().unwrap_or(0);
        settled == 30 && r["timed_out"].as_u64() > Some(0)
    })
    .await;
    // Two slots: most shadows were skipped, and counted.
    assert!(report["skipped_busy"].as_u64() > Some(0), "{report:#}");
    assert_eq!(report["matched"], 0, "{report:#}");
    host.stop().await;
}

/// Polls the shadow report until `done` holds (shadows finish after the device's answer);
/// returns the report that satisfied it.
async fn wait_for_report(host: &TestHost, done: impl Fn(&Value) -> bool) -> Value {
    let seen = std::sync::Mutex::new(Value::Null);
    eventually("the shadow report", || async {
        let view = admin(host, Method::GET, "/admin/adapters/canaried/shadow", None)
            .await
            .json();
        let report = view["report"].clone();
        let outcome = if done(&report) {
            Ok(())
        } else {
            Err(report.to_string())
        };
        *seen.lock().expect("lock") = report;
        outcome
    })
    .await;
    seen.into_inner().expect("lock")
}
