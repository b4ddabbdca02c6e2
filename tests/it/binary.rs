//! The real `frontdoor` binary as a process: logging (including plugin logs forwarded from
//! the plugin's own `tracing`), graceful shutdown on SIGTERM, and the deployer thread's
//! lower priority.

use crate::support::{Fixture, Gate, HostProcess, TestHost, eventually, get};

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

/// With `deployer_idle = true` the deployer thread runs `SCHED_IDLE`, taking the CPU only
/// when serving leaves it, while the threads serving devices keep the process's normal
/// policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deployer_thread_runs_sched_idle_and_serving_does_not() {
    let dir = TestHost::plugins_dir();
    Fixture::Echo("1.0.0").deploy_to(dir.path());
    let host = HostProcess::start(dir.path(), ["--set", "deployer_idle=true"], "info").await;
    let reply = get(&host.url("/echo/log")).await;
    assert_eq!(reply.status, 200);

    // The thread lowers its own priority as its first step: wait for that, not for a time.
    let pid = host.pid();
    eventually("the deployer thread under SCHED_IDLE", || async move {
        let threads = thread_priorities(pid);
        let deployer: Vec<i64> = threads
            .iter()
            .filter(|thread| thread.name.starts_with("frontdoor-depl"))
            .map(|thread| thread.policy)
            .collect();
        if deployer == [SCHED_IDLE] {
            Ok(())
        } else {
            Err(format!("threads: {threads:?}"))
        }
    })
    .await;
    let threads = thread_priorities(pid);
    let serving: Vec<&ThreadPriority> = threads
        .iter()
        .filter(|thread| thread.name == "tokio-rt-worker")
        .collect();
    assert!(!serving.is_empty(), "no serving thread: {threads:?}");
    assert!(
        serving.iter().all(|thread| thread.policy == SCHED_OTHER),
        "serving threads must keep the normal policy: {threads:?}"
    );
    assert!(host.stop().await, "clean exit");
}

/// By default the deployer thread keeps the normal policy and runs at the configured nice
/// value, the threads serving devices at the process's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deployer_thread_runs_at_a_lower_priority_than_serving() {
    let dir = TestHost::plugins_dir();
    Fixture::Echo("1.0.0").deploy_to(dir.path());
    let host = HostProcess::start(dir.path(), ["--set", "deployer_nice=7"], "info").await;
    let reply = get(&host.url("/echo/log")).await;
    assert_eq!(reply.status, 200);

    // The thread lowers its own priority as its first step: wait for that, not for a time.
    // Relative to the process's own nice value (the test may run niced).
    let pid = host.pid();
    eventually(
        "the deployer thread 7 below the main thread",
        || async move {
            let threads = thread_priorities(pid);
            let main = threads
                .iter()
                .find(|thread| thread.name == "frontdoor-under")
                .map(|thread| thread.nice);
            let deployer: Vec<(i64, i64)> = threads
                .iter()
                .filter(|thread| thread.name.starts_with("frontdoor-depl"))
                .map(|thread| (thread.nice, thread.policy))
                .collect();
            match main {
                Some(main) if deployer == [((main + 7).min(19), SCHED_OTHER)] => Ok(()),
                _ => Err(format!("threads: {threads:?}")),
            }
        },
    )
    .await;
    assert!(host.stop().await, "clean exit");
}

/// Scheduling policies as `/proc/PID/task/TID/stat` numbers them (`sched_setscheduler(2)`).
const SCHED_OTHER: i64 = 0;
const SCHED_IDLE: i64 = 5;

/// One thread's name and place in the scheduler.
#[derive(Debug)]
struct ThreadPriority {
    /// `comm`, at most 15 bytes.
    name: String,
    nice: i64,
    policy: i64,
}

/// Every thread of `pid` with its name, nice value and scheduling policy.
fn thread_priorities(pid: u32) -> Vec<ThreadPriority> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("the host's threads");
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| {
            let name = std::fs::read_to_string(task.path().join("comm")).ok()?;
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            // Fields after the parenthesised name, which may itself hold spaces: state is
            // field 3, nice field 19, policy field 41.
            let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
            Some(ThreadPriority {
                name: name.trim_end().to_owned(),
                nice: fields.get(16)?.parse().ok()?,
                policy: fields.get(38)?.parse().ok()?,
            })
        })
        .collect()
}
