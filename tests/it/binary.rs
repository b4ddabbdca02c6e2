//! The real `frontdoor` binary as a process: logging (including plugin logs forwarded from
//! the plugin's own `tracing`), and graceful shutdown on SIGTERM.

use std::{
    io::{BufRead as _, BufReader},
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::support::{Fixture, Gate, TestHost, get};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_logs_plugin_lines_and_drains_in_flight_requests_on_sigterm() {
    let dir = TestHost::plugins_dir();
    Fixture::Echo("1.0.0").deploy_to(dir.path());
    let gate = Gate::bind().await;
    std::fs::write(dir.path().join("junk-1.0.0.so"), b"not elf").expect("write");

    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdoor-under-test"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--plugins-dir",
        ])
        .arg(dir.path())
        // A backend the test answers by hand, patient enough that only the test decides
        // when the held request ends.
        .args(["--set", &format!("backends.gate.url={}", gate.url())])
        .args(["--set", "backends.gate.timeout_ms=3600000"])
        .args(["--request-deadline-ms", "3600000"])
        .env("RUST_LOG", "info")
        .env_remove("FRONTDOOR_CONFIG")
        .current_dir(dir.path())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start frontdoor");

    // Collect stderr on a thread; find the bound address in the "serving" line.
    let log = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().expect("piped stderr");
    let reader = {
        let log = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        })
    };
    let device_addr = wait_for(&log, Duration::from_secs(20), |text| {
        text.lines()
            .find(|line| line.contains("frontdoor serving"))
            .and_then(|line| line.split("device_addr=").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
    })
    .expect("the host reports its address");

    let reply = get(&format!("http://{device_addr}/echo/log")).await;
    assert_eq!(reply.status, 200);

    // A request is in flight when SIGTERM arrives (held at the gate: it reached the
    // backend, so it is inside the host); it must still complete.
    let held_request = tokio::spawn(get_owned(format!(
        "http://{device_addr}/echo/gated/gate?path=/hold"
    )));
    let held = gate.next().await;
    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped yet.
    let signalled = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(signalled, 0);
    // The host's own word that it is stopping, before the held request is released.
    let log_for_wait = log.clone();
    tokio::task::spawn_blocking(move || {
        wait_for(&log_for_wait, Duration::from_secs(20), |text| {
            text.contains("stop signal received").then_some(())
        })
    })
    .await
    .expect("log watcher")
    .expect("the host reports the stop signal");
    held.answer("released").await;
    let finished = held_request.await.expect("held request task");
    assert_eq!(finished.status, 200, "the in-flight request finished");
    assert_eq!(finished.json()["answer"], "released");

    let status = child.wait().expect("wait for frontdoor");
    assert!(status.success(), "clean exit after SIGTERM: {status}");
    reader.join().expect("stderr reader");
    let log = log.lock().unwrap_or_else(|p| p.into_inner()).clone();
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

/// Polls the collected log until `find` returns something or `timeout` passes.
fn wait_for<T>(
    log: &Mutex<String>,
    timeout: Duration,
    find: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(found) = find(&log.lock().unwrap_or_else(|p| p.into_inner())) {
            return Some(found);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}
