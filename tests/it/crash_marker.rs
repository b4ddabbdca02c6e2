//! A host that died while loading a file refuses that file at its next start instead of
//! crash-looping: the real `frontdoor` binary, with the probe turned off so that a static
//! initializer that aborts does kill it.

use std::{
    io::{BufRead as _, BufReader},
    os::unix::process::ExitStatusExt as _,
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crate::support::{Fixture, StaticInit, TestHost, eventually, get};

const FILE: &str = "static-init-1.0.0.so";
/// How long a host gets to start, or to die.
const PATIENCE: Duration = Duration::from_secs(60);

/// `frontdoor serve` over `plugins` with its own state and copies directories, no probe.
fn serve(plugins: &Path, state: &Path, work: &Path) -> (Child, Arc<Mutex<String>>, JoinHandle<()>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdoor-under-test"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--set",
            "artifacts.probe=false",
        ])
        .arg("--plugins-dir")
        .arg(plugins)
        .arg("--state-dir")
        .arg(state)
        .arg("--copies-dir")
        .arg(work)
        .env("RUST_LOG", "info")
        .env_remove("FRONTDOOR_CONFIG")
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start frontdoor");
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
    (child, log, reader)
}

/// The value of `key=` in the host's "frontdoor serving" line, once it is logged.
async fn serving_address(log: &Mutex<String>, key: &str) -> String {
    let mut found = String::new();
    eventually("the host reports its addresses", || {
        let text = log.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let address = text
            .lines()
            .find(|line| line.contains("frontdoor serving"))
            .and_then(|line| line.split(&format!("{key}=")).nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned);
        let result = match address {
            Some(address) => {
                found = address;
                Ok(())
            }
            None => Err(text),
        };
        async move { result }
    })
    .await;
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_killed_the_host_is_refused_at_the_next_start_until_it_changes() {
    let plugins = TestHost::plugins_dir();
    let state = tempfile::tempdir().expect("state dir");
    let work = tempfile::tempdir().expect("work dir");
    Fixture::Echo("1.0.0").deploy_to(plugins.path());
    Fixture::StaticInit(StaticInit::Panic).deploy_to(plugins.path());

    // First run: echo loads, then the static initializer aborts the host during start-up.
    let (mut first, first_log, reader) = serve(plugins.path(), state.path(), work.path());
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = first.try_wait().expect("check on frontdoor") {
            break status;
        }
        assert!(Instant::now() < deadline, "the host did not die");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    reader.join().expect("stderr reader");
    let first_log = first_log.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(
        status.signal(),
        Some(libc::SIGABRT),
        "{status}: {first_log}"
    );
    assert!(
        state.path().join(format!("loading/{FILE}.json")).exists(),
        "the marker written before dlopen survived the host"
    );

    // Second run: the same file is refused with the reason; everything else serves.
    let (mut second, log, reader) = serve(plugins.path(), state.path(), work.path());
    let device = serving_address(&log, "device_addr").await;
    let admin = serving_address(&log, "admin_addr").await;
    assert_eq!(
        get(&format!("http://{device}/echo/hello")).await.status,
        200
    );
    let plugins_view = get(&format!("http://{admin}/admin/plugins")).await.json();
    let failure = plugins_view["failed"]
        .as_array()
        .and_then(|failed| failed.iter().find(|failure| failure["file"] == FILE))
        .unwrap_or_else(|| panic!("{FILE} is not failed: {plugins_view:#}"));
    let reason = failure["reason"].as_str().expect("reason");
    let inode = {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(plugins.path().join(FILE))
            .expect("stat")
            .ino()
    };
    assert!(
        reason.starts_with("the host died while loading it (")
            && reason.contains(&format!("inode {inode}"))
            && reason.ends_with("it stays refused until the file changes"),
        "{reason}"
    );

    // A fixed build renamed onto the same name loads.
    Fixture::StaticInit(StaticInit::Fine).rename_into(plugins.path(), FILE);
    eventually("the fixed build serving", || async {
        let reply = get(&format!("http://{device}/static-init/hello")).await;
        if reply.status == 200 && reply.adapter() == "static-init@1.0.0" {
            Ok(())
        } else {
            Err(format!("{} {}", reply.status, reply.adapter()))
        }
    })
    .await;
    assert!(!state.path().join(format!("loading/{FILE}.json")).exists());

    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped yet.
    let signalled = unsafe { libc::kill(second.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(signalled, 0);
    let status = second.wait().expect("wait for frontdoor");
    reader.join().expect("stderr reader");
    let log = log.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(status.success(), "clean exit: {status}: {log}");
    assert!(
        log.contains("the previous host died while loading this file"),
        "{log}"
    );
}
