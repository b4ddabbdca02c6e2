//! The real `frontdoor` binary as a process: logging (including plugin logs forwarded from
//! the plugin's own `tracing`), and graceful shutdown on SIGTERM.

use crate::support::{Fixture, Gate, HostProcess, TestHost, get};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_logs_plugin_lines_and_drains_in_flight_requests_on_sigterm() {
    let dir = TestHost::plugins_dir();
    Fixture::Echo("1.0.0").deploy_to(dir.path());
    let gate = Gate::bind().await;
    std::fs::write(dir.path().join("junk-1.0.0.so"), b"not elf").expect("write");

    let gate_url = format!("backends.gate.url={}", gate.url());
    let mut host = HostProcess::start(
        dir.path(),
        [
            // A backend the test answers by hand, patient enough that only the test
            // decides when the held request ends.
            "--set",
            &gate_url,
            "--set",
            "backends.gate.timeout_ms=3600000",
            "--request-deadline-ms",
            "3600000",
        ],
        "info",
    )
    .await;
    let device_addr = host.device_addr.clone();

    let reply = get(&format!("http://{device_addr}/echo/log")).await;
    assert_eq!(reply.status, 200);

    // A request is in flight when SIGTERM arrives (held at the gate: it reached the
    // backend, so it is inside the host); it must still complete.
    let held_request = tokio::spawn(get_owned(format!(
        "http://{device_addr}/echo/gated/gate?path=/hold"
    )));
    let held = gate.next().await;
    host.terminate();
    // The host's own word that it is stopping, before the held request is released.
    host.wait_for_log(|text| text.contains("stop signal received").then_some(()))
        .await;
    held.answer("released").await;
    let finished = held_request.await.expect("held request task");
    assert_eq!(finished.status, 200, "the in-flight request finished");
    assert_eq!(finished.json()["answer"], "released");

    let status = host.wait_exit().await;
    assert!(status.success(), "clean exit after SIGTERM: {status}");
    let log = host.log();
    assert!(log.contains("junk-1.0.0.so"), "{log}");
    assert!(log.contains("not an ELF shared library"), "{log}");
    assert!(
        log.contains("echo fixture says hello through tracing"),
        "{log}"
    );
    assert!(log.contains("answer=42"), "{log}");
    assert!(
        log.contains("echo fixture says hello through ctx.log"),
        "{log}"
    );
    assert!(log.contains("plugin=echo@1.0.0"), "{log}");
    assert!(log.contains("frontdoor stopped"), "{log}");
}

async fn get_owned(url: String) -> crate::support::Reply {
    get(&url).await
}
