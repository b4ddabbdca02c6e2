//! A host that died while loading a file refuses that file at its next start instead of
//! crash-looping: the real `frontdoor` binary, with the probe turned off so that a static
//! initializer that aborts does kill it.

use std::{ffi::OsStr, os::unix::process::ExitStatusExt as _, path::Path};

use crate::support::{Fixture, HostProcess, StaticInit, TestHost, eventually, get};

const FILE: &str = "static-init-1.0.0.so";

/// `frontdoor serve` over `plugins` with its own state and copies directories, no probe.
fn serve(plugins: &Path, state: &Path, work: &Path) -> HostProcess {
    HostProcess::spawn(
        plugins,
        [
            OsStr::new("--set"),
            OsStr::new("artifacts.probe=false"),
            OsStr::new("--state-dir"),
            state.as_os_str(),
            OsStr::new("--copies-dir"),
            work.as_os_str(),
        ],
        "info",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_killed_the_host_is_refused_at_the_next_start_until_it_changes() {
    let plugins = TestHost::plugins_dir();
    let state = tempfile::tempdir().expect("state dir");
    let work = tempfile::tempdir().expect("work dir");
    Fixture::Echo("1.0.0").deploy_to(plugins.path());
    Fixture::StaticInit(StaticInit::Panic).deploy_to(plugins.path());

    // First run: echo loads, then the static initializer aborts the host during start-up.
    let mut first = serve(plugins.path(), state.path(), work.path());
    let status = first.wait_exit().await;
    let first_log = first.log();
    assert_eq!(
        status.signal(),
        Some(libc::SIGABRT),
        "{status}: {first_log}"
    );
    assert!(
        // Markers are named by their writer's pid (a recycle's two processes share the
        // directory).
        state
            .path()
            .join(format!("loading/{FILE}.{}.json", first.pid()))
            .exists(),
        "the marker written before dlopen survived the host"
    );

    // What the aborted host left in the copies parent: its directory, with the copy it was
    // opening when it died.
    let left = copies_dirs(work.path());
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(
        std::fs::read_dir(&left[0])
            .expect("its directory")
            .filter_map(Result::ok)
            .any(|entry| entry.file_name().to_string_lossy().ends_with(FILE)),
        "the copy it was opening is still there"
    );

    // Second run: the same file is refused with the reason; everything else serves.
    let mut second = serve(plugins.path(), state.path(), work.path());
    second.wait_serving().await;
    let now = copies_dirs(work.path());
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(
        now[0], left[0],
        "the dead host's copies directory was removed when the next one started"
    );
    let (device, admin) = (second.device_addr.clone(), second.admin_addr.clone());
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
    let markers: Vec<_> = std::fs::read_dir(state.path().join("loading"))
        .expect("markers")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&format!("{FILE}.")))
        .collect();
    assert!(
        markers.is_empty(),
        "the dead host's marker is gone: {markers:?}"
    );

    second.terminate();
    let status = second.wait_exit().await;
    let log = second.log();
    assert!(status.success(), "clean exit: {status}: {log}");
    assert!(
        log.contains("the previous host died while loading this file"),
        "{log}"
    );
    assert!(
        log.contains("removed the copies directory of a host that is gone"),
        "{log}"
    );
    assert!(
        copies_dirs(work.path()).is_empty(),
        "and the second removed its own at shutdown"
    );
}

/// The copies directories under `parent` (a host's is `frontdoor-` and 16 hex digits).
fn copies_dirs(parent: &Path) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(parent)
        .expect("copies parent")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_dir()
                && path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with("frontdoor-") && name.len() == 26)
        })
        .collect();
    dirs.sort();
    dirs
}
