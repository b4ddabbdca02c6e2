//! De-duplication of backend calls within one device request: only truly identical calls
//! (method, path and query, and every header sent) share one answer.

use frontdoor::{HostConfig, backends::BackendConfig};

use crate::support::{Fixture, Recorder, TestHost, get};

const ECHO: Fixture = Fixture::Echo("1.0.0");

async fn host_with_recorder(recorder: &Recorder) -> TestHost {
    let backend = BackendConfig::new("recorder", recorder.url());
    TestHost::with_config(&[ECHO], move |config: &mut HostConfig| {
        config.backends = vec![backend];
    })
    .await
}

async fn deduplicated(host: &TestHost) -> u64 {
    let view = get(&host.admin_url("/admin/backends")).await.json();
    view["backends"][0]["deduplicated"]
        .as_u64()
        .expect("deduplicated count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gets_that_differ_in_a_header_each_reach_the_backend_and_get_their_own_answer() {
    let recorder = Recorder::start().await;
    let host = host_with_recorder(&recorder).await;

    let reply = get(&host.url(
        "/echo/pair/recorder?path=/me&header=authorization&first=Bearer%20alice&second=Bearer%20bob",
    ))
    .await;
    assert_eq!(reply.status, 200);
    let pair = reply.json();
    assert_eq!(pair["first"], "authorization=Bearer alice", "{pair:#}");
    assert_eq!(pair["second"], "authorization=Bearer bob", "{pair:#}");
    let mut seen: Vec<Vec<String>> = recorder
        .requests()
        .into_iter()
        .map(|request| {
            assert_eq!(request.path_and_query, "/me");
            request.headers
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            vec!["authorization=Bearer alice".to_owned()],
            vec!["authorization=Bearer bob".to_owned()]
        ],
        "both calls reached the backend, each with its own header"
    );
    assert_eq!(deduplicated(&host).await, 0);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_gets_with_headers_are_still_made_once() {
    let recorder = Recorder::start().await;
    let host = host_with_recorder(&recorder).await;

    let reply = get(&host.url(
        "/echo/pair/recorder?path=/rows%3Fpage%3D2&header=accept-language&first=fr&second=fr",
    ))
    .await;
    assert_eq!(reply.status, 200);
    let pair = reply.json();
    assert_eq!(pair["first"], "accept-language=fr", "{pair:#}");
    assert_eq!(pair["second"], pair["first"]);
    let requests = recorder.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].path_and_query, "/rows?page=2");
    assert_eq!(deduplicated(&host).await, 1);

    // The same path with a different query is another call.
    get(&host.url(
        "/echo/pair/recorder?path=/rows%3Fpage%3D3&header=accept-language&first=fr&second=de",
    ))
    .await;
    assert_eq!(recorder.requests().len(), 3);
    host.stop().await;
}
