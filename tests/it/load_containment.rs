//! Load containment: an artifact whose static initializers (run by `dlopen`, outside every
//! panic guard) abort, exit or hang is proven in a sacrificial child process first, refused
//! with what happened, and the host never opens it: it serves on, and so does a host
//! restarted with the file still there.

use std::{path::Path, time::Duration};

use crate::support::{Fixture, StaticInit, TestHost, get};

const ECHO: Fixture = Fixture::Echo("1.0.0");
const FILE: &str = "static-init-1.0.0.so";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_initializer_that_panics_is_refused_and_the_host_serves_before_and_after_a_restart()
 {
    let dir = TestHost::plugins_dir();
    ECHO.deploy_to(dir.path());
    Fixture::StaticInit(StaticInit::Panic).deploy_to(dir.path());
    let host = TestHost::start(dir).await;

    let reason = host.failure_reason(FILE).await;
    assert!(
        reason.starts_with(
            "the load probe died of SIGABRT while opening the library: its static initializers crash"
        ),
        "{reason}"
    );
    assert!(
        reason.contains("static-init fixture: deliberate panic in a static initializer"),
        "the panic message is part of the reason: {reason}"
    );
    assert_eq!(get(&host.url("/echo/hello")).await.status, 200);
    assert_eq!(get(&host.url("/static-init/hello")).await.status, 404);
    let plugins = host.plugins().await;
    assert_eq!(
        plugins["copies"]["files"], 0,
        "the refused copy is gone: {plugins:#}"
    );

    // The file stays; a new host over the same directory refuses it the same way and serves.
    let dir = host.stop_keeping_dir().await;
    let host = TestHost::start(dir).await;
    let again = host.failure_reason(FILE).await;
    assert!(again.contains("died of SIGABRT"), "{again}");
    assert_eq!(get(&host.url("/echo/hello")).await.status, 200);

    // A fixed build under the same name loads.
    Fixture::StaticInit(StaticInit::Fine).rename_into(host.dir(), FILE);
    host.wait_for_version("/static-init/hello", "static-init@1.0.0")
        .await;
    let plugins = host.plugins().await;
    assert_eq!(plugins["failed"], serde_json::json!([]), "{plugins:#}");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_initializer_that_exits_is_refused_with_its_exit_status() {
    let host = TestHost::with(&[ECHO, Fixture::StaticInit(StaticInit::Exit)]).await;
    let reason = host.failure_reason(FILE).await;
    assert_eq!(
        reason,
        "the load probe exited with status 3 while opening the library: its static initializers end the process"
    );
    assert_eq!(get(&host.url("/echo/hello")).await.status, 200);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_initializer_that_hangs_is_killed_at_the_probe_deadline() {
    let host = TestHost::with_config(&[ECHO], |config| {
        config.artifacts.probe_timeout = Duration::from_millis(3000);
    })
    .await;
    Fixture::StaticInit(StaticInit::Hang).rename_into(host.dir(), FILE);
    crate::support::eventually("the hanging artifact refused", || async {
        let plugins = host.plugins().await;
        let failed = plugins["failed"]
            .as_array()
            .and_then(|failed| failed.iter().find(|failure| failure["file"] == FILE))
            .cloned();
        failed.map(|_| ()).ok_or_else(|| format!("{plugins}"))
    })
    .await;
    // On a busy machine the deadline also left out time the probe waited for a CPU; the
    // reason then says how long, between the deadline and the stage.
    let reason = host.failure_reason(FILE).await;
    let (deadline, stage) = reason
        .split_once(" while ")
        .unwrap_or_else(|| panic!("{reason}"));
    assert!(
        deadline == "the load probe did not finish within 3000 ms"
            || (deadline
                .starts_with("the load probe did not finish within 3000 ms of its own time (and ")
                && deadline.ends_with(" ms waiting for a CPU)")),
        "{reason}"
    );
    assert_eq!(
        stage,
        "opening the library and was killed: its static initializers hang (artifacts.probe_timeout_ms)"
    );
    // The verdict is recorded after the probe was killed and reaped: nothing of it is left.
    let copies = host.plugins().await["copies"]["dir"]
        .as_str()
        .expect("copies dir")
        .to_owned();
    let leftovers = processes_mentioning(&copies);
    assert!(leftovers.is_empty(), "probe processes left: {leftovers:?}");
    assert_eq!(get(&host.url("/echo/hello")).await.status, 200);
    host.stop().await;
}

/// The command lines of live processes that mention `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("list /proc").flatten() {
        let cmdline = Path::new("/proc").join(entry.file_name()).join("cmdline");
        // Processes come and go while we look; one that went has nothing to say.
        if let Ok(bytes) = std::fs::read(cmdline) {
            let line = String::from_utf8_lossy(&bytes).replace('\0', " ");
            if line.contains(needle) {
                found.push(line);
            }
        }
    }
    found
}
