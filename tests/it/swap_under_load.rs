//! Swapping an adapter many times under sustained load fails no request (correctness, not
//! speed: the load loop is bounded in requests and time, and nothing here is timed).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use hyper::Method;

use crate::support::{Fixture, TestHost, client, try_send};

const SWAPS: usize = 20;
const WORKERS: usize = 4;
const MAX_REQUESTS_PER_WORKER: u64 = 200_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapping_under_load_fails_no_request() {
    let host = TestHost::with_config(&[], |config| config.retired_limit = 5).await;
    let builds = [Fixture::Echo("1.0.0"), Fixture::Echo("2.0.0")];
    // Build both variants before the clock starts.
    for build in builds {
        build.artifact();
    }
    builds[0].rename_into(host.dir(), "echo-live.so");
    host.wait_for_version("/echo/hello", "echo@1.0.0").await;

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let first_failure = Arc::new(std::sync::Mutex::new(None::<String>));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (stop, ok, failed, first_failure) = (
                stop.clone(),
                ok.clone(),
                failed.clone(),
                first_failure.clone(),
            );
            let url = host.url("/echo/hello");
            tokio::spawn(async move {
                let client = client();
                let mut sent = 0;
                while !stop.load(Ordering::Relaxed) && sent < MAX_REQUESTS_PER_WORKER {
                    sent += 1;
                    match try_send(&client, Method::GET, &url, &[], Vec::new()).await {
                        Ok(reply) if reply.status == 200 => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        outcome => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            let mut first = first_failure.lock().unwrap_or_else(|p| p.into_inner());
                            first.get_or_insert_with(|| format!("{outcome:?}"));
                        }
                    }
                }
            })
        })
        .collect();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    for swap in 1..=SWAPS {
        let build = builds[swap % 2];
        let Fixture::Echo(version) = build else {
            unreachable!("echo builds")
        };
        build.rename_into(host.dir(), "echo-live.so");
        let label = format!("echo@{version}");
        // Wait until the swap is visible through the load itself.
        loop {
            let reply = crate::support::get(&host.url("/echo/hello")).await;
            if reply.adapter() == label {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "swap {swap} to {label} never became visible"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.expect("load worker");
    }

    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert_eq!(
        failed,
        0,
        "{failed} of {} requests failed during {SWAPS} swaps; first: {:?}",
        ok + failed,
        first_failure.lock().unwrap_or_else(|p| p.into_inner())
    );
    assert!(ok > 0, "the load loop ran");
    let plugins = host.plugins().await;
    assert_eq!(
        plugins["retired"]["count"], SWAPS,
        "every replaced build retired: {plugins:#}"
    );
    assert_eq!(plugins["retired"]["limit"], 5);
    assert_eq!(
        plugins["retired"]["over_limit"], true,
        "past the cap the host says so"
    );
    host.stop().await;
}
