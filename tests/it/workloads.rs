//! W1 and W2 bodies, through the adapter and through the static baseline, reproduce the
//! workloads' reference sha256 digests (the bodies every implementation, bare hyper
//! included, must reproduce byte for byte).

use sha2::{Digest, Sha256};

use frontdoor::backends::BackendConfig;

use crate::support::{Fixture, Recorder, TestHost, get};

const TABLE: &[(&str, &str)] = &[
    (
        "/hello",
        "4062edaf750fb8074e7e83e0c9028c94e32468a8b6f1614774328ef045150f93",
    ),
    (
        "/home?profile=0",
        "64facf4628fd8bdfe91b78c2d43d216d5e215db55fd4bf64fddf05115db3948f",
    ),
    (
        "/home?profile=1",
        "a4f9ae052df89bb0311c695561b9e77b6864467a34d77644c484756d45023b4e",
    ),
    (
        "/home?profile=17",
        "3334176368566ca3665c3d3284dd1481a74a911a3c20d2d1e271fd3adeb16d10",
    ),
    (
        "/home?profile=123",
        "6b213655b3e43b0de2c97dd52948b73babbcf535b00709cc23a9d94b29878124",
    ),
    (
        "/home?profile=500",
        "6e2006d75e659c5ecc1340ded53e50a6828d646000292ebdea3ae18f141c5a15",
    ),
    (
        "/home?profile=999",
        "777783d7d0988c052df9d7926647cf9e732e7d18252b02edd84e2421513c92f4",
    ),
    (
        "/home?profile=007",
        "47d4370d342d56a59efa504e14eebc1c0de3a52110bc11905c9fe5b6dc134d50",
    ),
];

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapter_and_static_baseline_reproduce_the_sha256_table() {
    let host = TestHost::with(&[Fixture::Bench]).await;
    for namespace in ["/bench", "/static-bench"] {
        for (path, expected) in TABLE {
            let reply = get(&host.url(&format!("{namespace}{path}"))).await;
            assert_eq!(reply.status, 200, "{namespace}{path}");
            assert_eq!(reply.header("content-type"), Some("application/json"));
            assert_eq!(sha256_hex(&reply.body), *expected, "{namespace}{path}");
        }
        for bad in [
            "/home",
            "/home?profile=1000",
            "/home?profile=abc",
            "/home?other=1",
        ] {
            let reply = get(&host.url(&format!("{namespace}{bad}"))).await;
            assert_eq!(reply.status, 400, "{namespace}{bad}");
            assert_eq!(&reply.body[..], br#"{"error":"bad profile"}"#);
        }
        let reply = get(&host.url(&format!("{namespace}/unknown"))).await;
        assert_eq!(reply.status, 404);
        assert_eq!(reply.json()["error"], "not found");
    }
    host.stop().await;
}

/// W3 through the adapter and through the fan-out compiled into the host: the same ten
/// calls, the same answer, each call carrying its device request's id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapter_and_compiled_in_fan_out_make_the_same_calls() {
    let backend = Recorder::start().await;
    let host = TestHost::with_config(&[Fixture::Bench], |config| {
        config
            .backends
            .push(BackendConfig::new("fanout", backend.url()));
    })
    .await;
    let mut expected: Vec<String> = (0..10).map(|call| format!("/ping?call={call}")).collect();
    expected.sort();
    for (index, path) in ["/bench/fanout", "/static-fanout/fanout"]
        .iter()
        .enumerate()
    {
        let reply = get(&host.url(path)).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(&reply.body[..], br#"{"calls":10,"ok":10}"#, "{path}");
        let request_id = reply.header("x-request-id").expect("request id").to_owned();
        let seen: Vec<_> = backend.requests().into_iter().skip(index * 10).collect();
        let mut paths: Vec<String> = seen.iter().map(|r| r.path_and_query.clone()).collect();
        paths.sort();
        assert_eq!(paths, expected, "{path}");
        assert!(
            seen.iter()
                .all(|r| r.request_id.as_deref() == Some(request_id.as_str())),
            "{path}: every call carries {request_id}: {seen:?}"
        );
    }
    host.stop().await;
}
