//! Recycling the real binary: the listening sockets pass to a fresh process while devices
//! keep sending on keep-alive and on new connections, and not one request is refused,
//! reset or answered with anything but 200; a successor that cannot start leaves the old
//! process serving, and says why. Load loops are bounded in requests; waits are bounded
//! polls of a state, never sleeps.

use std::{
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use hyper::Method;

use crate::support::{
    Fixture, Gate, HostProcess, Reply, TestHost, client, eventually, get, send, try_send,
};

/// Workers of each kind: keep-alive (one pooled client each) and a new connection per
/// request.
const WORKERS: usize = 2;
const MAX_REQUESTS_PER_WORKER: u64 = 100_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recycle_through_the_admin_api_drops_no_request_and_keeps_pins() {
    let dir = TestHost::plugins_dir();
    Fixture::Echo("1.0.0").deploy_to(dir.path());
    Fixture::Echo("2.0.0").deploy_to(dir.path());
    let run = tempfile::tempdir().expect("run dir");
    let pid_file = run.path().join("frontdoor.pid");
    let mut old = HostProcess::start(dir.path(), pid_arg(&pid_file), "info").await;
    eventually("the PID file names the host", || {
        let named = read_pid(&pid_file);
        let pid = old.pid();
        async move { expect_eq(named, Some(pid)) }
    })
    .await;
    let pin = send(
        Method::POST,
        &old.admin_url("/admin/adapters/echo/pin"),
        &[],
        b"{\"version\": \"1.0.0\"}".to_vec(),
    )
    .await;
    assert_eq!(pin.status, 200, "{:?}", pin.body);
    assert_eq!(get(&old.url("/echo/hello")).await.adapter(), "echo@1.0.0");

    let load = Load::start(old.url("/echo/hello"));
    load.wait_for_more(100).await;
    let reply = send(
        Method::POST,
        &old.admin_url("/admin/recycle"),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", body(&reply));
    let outcome = reply.json();
    assert_eq!(outcome["outcome"], "recycled");
    assert_eq!(outcome["trigger"]["kind"], "admin");
    let successor = Successor(outcome["successor_pid"].as_u64().expect("successor pid") as u32);
    assert_ne!(successor.0, old.pid());
    // The PID file names the successor before the old process stops accepting.
    assert_eq!(read_pid(&pid_file), Some(successor.0));

    // The old process drains and leaves; from then on every request is the successor's.
    let status = old.wait_status().await;
    assert!(status.success(), "the old process exits cleanly: {status}");
    load.wait_for_more(100).await;
    load.finish().await;

    let view = get(&old.admin_url("/admin/recycle")).await.json();
    assert_eq!(view["pid"], successor.0);
    assert_eq!(view["predecessor_pid"], old.pid());
    // The pin was read from the state file by the successor.
    assert_eq!(get(&old.url("/echo/hello")).await.adapter(), "echo@1.0.0");
    let audit = std::fs::read_to_string(dir.path().join("state.d/audit.jsonl")).expect("audit");
    let recycle_line = audit
        .lines()
        .find(|line| line.contains("\"action\":\"recycle\""))
        .unwrap_or_else(|| panic!("the recycle is audited: {audit}"));
    assert!(
        recycle_line.contains("\"team\":\"loopback\""),
        "{recycle_line}"
    );
    assert_eq!(read_pid(&pid_file), Some(successor.0));
    successor.stop().await;
    assert!(
        !pid_file.exists(),
        "the last host removes the PID file naming it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigusr2_recycles_twice_in_a_row_under_load() {
    let dir = TestHost::plugins_dir();
    Fixture::Echo("1.0.0").deploy_to(dir.path());
    let run = tempfile::tempdir().expect("run dir");
    let pid_file = run.path().join("frontdoor.pid");
    let mut old = HostProcess::start(dir.path(), pid_arg(&pid_file), "info").await;
    let load = Load::start(old.url("/echo/hello"));
    load.wait_for_more(100).await;

    let mut serving = old.pid();
    let mut successors = Vec::new();
    for round in 0..2 {
        signal(serving, libc::SIGUSR2);
        let previous = serving;
        eventually("the PID file names a successor", || {
            let named = read_pid(&pid_file);
            async move {
                match named {
                    Some(pid) if pid != previous => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            }
        })
        .await;
        serving = read_pid(&pid_file).expect("pid");
        successors.push(Successor(serving));
        if round == 0 {
            assert!(old.wait_status().await.success(), "the first host exits");
        }
        // Requests on both sides of each handover.
        load.wait_for_more(100).await;
    }
    // The first successor handed over too and left: the second serves alone.
    let first = successors.remove(0);
    first.wait_gone().await;
    let view = get(&old.admin_url("/admin/recycle")).await.json();
    assert_eq!(view["pid"], serving);
    assert_eq!(view["predecessor_pid"], first.0);
    load.finish().await;
    successors.remove(0).stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successor_that_cannot_serve_leaves_the_old_process_serving_and_says_why() {
    let dir = TestHost::plugins_dir();
    Fixture::Echo("1.0.0").deploy_to(dir.path());
    let run = tempfile::tempdir().expect("run dir");
    let pid_file = run.path().join("frontdoor.pid");
    let mut args = pid_arg(&pid_file);
    args.extend(["--set".into(), "recycle.ready_timeout_secs=2".into()]);
    let host = HostProcess::start(dir.path(), args, "info").await;
    let recycle = |body: String| {
        let url = host.admin_url("/admin/recycle");
        async move { send(Method::POST, &url, &[], body.into_bytes()).await }
    };
    let binary = |path: &Path| format!("{{\"binary\": {:?}}}", path.display().to_string());

    // Refused before anything starts: 400 with the reason.
    let not_executable = script(run.path(), "plain", "exit 0", 0o644);
    for (body, reason) in [
        (binary(Path::new("/nonexistent/frontdoor")), "No such file"),
        ("{\"binary\": \"frontdoor\"}".to_owned(), "absolute path"),
        (binary(&not_executable), "not executable"),
        (binary(run.path()), "not a regular file"),
        ("{\"binary\": 3}".to_owned(), "invalid body"),
        ("{\"bin\": \"/x\"}".to_owned(), "invalid body"),
    ] {
        let reply = recycle(body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", self::body(&reply));
        assert!(body_has(&reply, reason), "{body}: {}", self::body(&reply));
    }

    // A successor that exits at once, and one that never reports ready (killed at the
    // ready timeout): 502, the reason, the old process still serving.
    let exits = script(run.path(), "exits", "exit 3", 0o755);
    let reply = recycle(binary(&exits)).await;
    assert_eq!(reply.status, 502, "{}", body(&reply));
    assert!(
        body_has(&reply, "exited before it served: exit status: 3"),
        "{}",
        body(&reply)
    );
    let hangs = script(run.path(), "hangs", "exec sleep 1000", 0o755);
    let reply = recycle(binary(&hangs)).await;
    assert_eq!(reply.status, 502, "{}", body(&reply));
    assert!(body_has(&reply, "not ready within"), "{}", body(&reply));
    assert_eq!(get(&host.url("/echo/hello")).await.status, 200);

    // A recycle in progress (its successor waits for the test's gate file): a second one
    // gets 409, and so does an operator's change, which the successor would not see.
    let gate = run.path().join("gate");
    let waits = script(
        run.path(),
        "waits",
        &format!(
            "while [ ! -e {:?} ]; do sleep 0.05; done\nexit 4",
            gate.display().to_string()
        ),
        0o755,
    );
    let first = tokio::spawn(recycle(binary(&waits)));
    eventually("the recycle is in progress", || {
        let url = host.admin_url("/admin/recycle");
        async move {
            let view = get(&url).await.json();
            expect_eq(view["in_progress"].as_bool(), Some(true))
        }
    })
    .await;
    let second = recycle(String::new()).await;
    assert_eq!(second.status, 409, "{}", body(&second));
    assert!(
        body_has(&second, "already in progress"),
        "{}",
        body(&second)
    );
    let pin_url = host.admin_url("/admin/adapters/echo/pin");
    let pin = b"{\"version\": \"1.0.0\"}".to_vec();
    let held = send(Method::POST, &pin_url, &[], pin.clone()).await;
    assert_eq!(held.status, 409, "{}", body(&held));
    assert!(body_has(&held, "recycle is in progress"), "{}", body(&held));
    assert_eq!(get(&host.url("/echo/hello")).await.status, 200);
    std::fs::write(&gate, b"").expect("open the gate");
    let reply = first.await.expect("first recycle");
    assert_eq!(reply.status, 502, "{}", body(&reply));
    assert!(body_has(&reply, "exit status: 4"), "{}", body(&reply));

    // Still the same process, serving, taking changes, and saying what happened.
    assert_eq!(send(Method::POST, &pin_url, &[], pin).await.status, 200);
    assert_eq!(get(&host.url("/echo/hello")).await.status, 200);
    assert_eq!(read_pid(&pid_file), Some(host.pid()));
    let view = get(&host.admin_url("/admin/recycle")).await.json();
    assert_eq!(view["in_progress"], false);
    assert_eq!(view["failed"], 3);
    assert_eq!(view["last"]["outcome"], "failed");
    assert!(
        view["last"]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("exit status: 4")),
        "{view}"
    );
    let metrics = get(&host.admin_url("/metrics")).await;
    assert!(
        body(&metrics).contains("frontdoor_recycles_total{outcome=\"failed\"} 3"),
        "{}",
        body(&metrics)
    );
    let log = host.log();
    assert!(
        log.contains("recycle failed; this process keeps serving"),
        "{log}"
    );
    assert!(host.stop().await, "clean exit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_during_a_recycle_finishes_on_the_old_process() {
    let dir = TestHost::plugins_dir();
    Fixture::Echo("1.0.0").deploy_to(dir.path());
    let gate = Gate::bind().await;
    let gate_url = format!("backends.gate.url={}", gate.url());
    let mut old = HostProcess::start(
        dir.path(),
        [
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
    let url = old.url("/echo/gated/gate?path=/hold");
    let held_request = tokio::spawn(async move { get(&url).await });
    let held = gate.next().await;

    let reply = send(
        Method::POST,
        &old.admin_url("/admin/recycle"),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", body(&reply));
    let successor = Successor(reply.json()["successor_pid"].as_u64().expect("pid") as u32);
    // The old process waits for its request: it has handed over and is draining.
    old.wait_for_log(|log| {
        log.contains("handed over; finishing in-flight requests")
            .then_some(())
    })
    .await;
    assert!(
        old.try_status().is_none(),
        "the old process waits for its in-flight request"
    );
    assert_eq!(
        get(&old.url("/echo/hello")).await.status,
        200,
        "the successor serves"
    );
    held.answer("released").await;
    let finished = held_request.await.expect("held request");
    assert_eq!(finished.status, 200);
    assert_eq!(finished.json()["answer"], "released");
    assert!(old.wait_status().await.success());
    successor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_its_mapped_libraries_threshold_the_host_recycles_itself() {
    let dir = TestHost::plugins_dir();
    Fixture::Echo("1.0.0").rename_into(dir.path(), "echo-live.so");
    let run = tempfile::tempdir().expect("run dir");
    let pid_file = run.path().join("frontdoor.pid");
    let mut args = pid_arg(&pid_file);
    args.extend(
        [
            "--set",
            "recycle.auto_mapped_libraries=2",
            "--set",
            "recycle.auto_check_secs=1",
        ]
        .map(Into::into),
    );
    let mut old = HostProcess::start(dir.path(), args, "info").await;
    assert_eq!(get(&old.url("/echo/hello")).await.adapter(), "echo@1.0.0");
    let load = Load::start(old.url("/echo/hello"));
    load.wait_for_more(50).await;
    // One library mapped: under the threshold. A swap retires it and maps a second.
    Fixture::Echo("2.0.0").rename_into(dir.path(), "echo-live.so");
    let old_pid = old.pid();
    eventually("the PID file names a successor", || {
        let named = read_pid(&pid_file);
        async move {
            match named {
                Some(pid) if pid != old_pid => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await;
    let successor = Successor(read_pid(&pid_file).expect("pid"));
    assert!(old.wait_status().await.success());
    load.wait_for_more(50).await;
    load.finish().await;
    // The successor maps only what it serves, so it stays under the threshold.
    let plugins = get(&old.admin_url("/admin/plugins")).await.json();
    assert_eq!(plugins["mapped"]["count"], 1, "{plugins}");
    assert_eq!(plugins["retired"]["count"], 0, "{plugins}");
    assert_eq!(get(&old.url("/echo/hello")).await.adapter(), "echo@2.0.0");
    let log = old.log();
    assert!(
        log.contains("2 libraries are mapped (auto_mapped_libraries = 2)"),
        "{log}"
    );
    assert_eq!(read_pid(&pid_file), Some(successor.0), "no second recycle");
    successor.stop().await;
}

/// Device load on keep-alive connections and on new connections, every outcome counted.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    first_failure: Arc<Mutex<Option<String>>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(url: String) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let first_failure = Arc::new(Mutex::new(None::<String>));
        let workers = (0..WORKERS * 2)
            .map(|index| {
                let keep_alive = index % 2 == 0;
                let (stop, ok, failed, first_failure, url) = (
                    stop.clone(),
                    ok.clone(),
                    failed.clone(),
                    first_failure.clone(),
                    url.clone(),
                );
                tokio::spawn(async move {
                    let mut pooled = client();
                    let mut sent = 0;
                    while !stop.load(Ordering::Relaxed) && sent < MAX_REQUESTS_PER_WORKER {
                        sent += 1;
                        if !keep_alive {
                            pooled = client();
                        }
                        match try_send(&pooled, Method::GET, &url, &[], Vec::new()).await {
                            Ok(reply) if reply.status == 200 => {
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            outcome => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                let mut first =
                                    first_failure.lock().unwrap_or_else(|p| p.into_inner());
                                first.get_or_insert_with(|| format!("{outcome:?}"));
                            }
                        }
                    }
                })
            })
            .collect();
        Self {
            stop,
            ok,
            failed,
            first_failure,
            workers,
        }
    }

    /// Waits until `more` requests beyond those so far got their 200.
    async fn wait_for_more(&self, more: u64) {
        let target = self.ok.load(Ordering::Relaxed) + more;
        eventually("more requests answered", || {
            let (ok, failed) = (
                self.ok.load(Ordering::Relaxed),
                self.failed.load(Ordering::Relaxed),
            );
            async move {
                if ok >= target {
                    Ok(())
                } else {
                    Err(format!("{ok} answered, {failed} failed"))
                }
            }
        })
        .await;
    }

    /// Stops the workers; every request they sent got a 200.
    async fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        for worker in self.workers {
            worker.await.expect("load worker");
        }
        let failed = self.failed.load(Ordering::Relaxed);
        let first = self
            .first_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        assert_eq!(
            failed,
            0,
            "{failed} of {} requests failed; first: {first:?}",
            failed + self.ok.load(Ordering::Relaxed)
        );
    }
}

/// A successor process: not the test's child (its parent was the old host), so it is
/// watched by pid. Killed if the test ends without stopping it.
struct Successor(u32);

impl Successor {
    /// SIGTERM, then waits until it is gone; its exit is clean when it removed its PID file.
    async fn stop(self) {
        signal(self.0, libc::SIGTERM);
        self.wait_gone().await;
    }

    async fn wait_gone(&self) {
        let pid = self.0;
        eventually("the process exits", || async move {
            if gone(pid) {
                Ok(())
            } else {
                Err(format!("{pid} still runs"))
            }
        })
        .await;
    }
}

impl Drop for Successor {
    fn drop(&mut self) {
        if !gone(self.0) {
            signal(self.0, libc::SIGKILL);
        }
    }
}

/// Gone, or a zombie waiting for a reaper that is not the test.
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) with a pid the test read from a host's answer or PID file; the worst a
    // stale pid costs is a signal to nothing (ESRCH), which is ignored.
    let _ = unsafe { libc::kill(pid as libc::pid_t, signal) };
}

fn pid_arg(path: &Path) -> Vec<std::ffi::OsString> {
    vec!["--pid-file".into(), path.into()]
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn expect_eq<T: PartialEq + std::fmt::Debug>(seen: T, wanted: T) -> Result<(), String> {
    if seen == wanted {
        Ok(())
    } else {
        Err(format!("{seen:?}"))
    }
}

/// A shell script named `name` in `dir` running `body`, with `mode`.
fn script(dir: &Path, name: &str, body: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

fn body(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}

fn body_has(reply: &Reply, text: &str) -> bool {
    body(reply).contains(text)
}
