//! Group deploy: a bundle manifest (`NAME.bundle.toml`) names several artifacts that are
//! published together or not at all; what served before keeps serving either way, and a
//! bad manifest is reported without stopping anything else.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use sha2::{Digest as _, Sha256};
use tokio::task::JoinHandle;

use crate::support::{Fixture, TestHost, get, send};

const GALLERY_1: Fixture = Fixture::Gallery {
    version: "1.0.0",
    requirement: "^1.1",
};
/// Would bind to artwork 1.1.0 if it were ever published alone.
const GALLERY_2: Fixture = Fixture::Gallery {
    version: "2.0.0",
    requirement: "^1.1",
};
const ARTWORK_11: Fixture = Fixture::ArtworkImpl("1.1.0");
const ARTWORK_12: Fixture = Fixture::ArtworkImpl("1.2.0");

/// Writes a manifest the way a careful operator does: a hidden temp file, renamed in.
fn write_manifest(dir: &Path, name: &str, text: &str) {
    let temp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&temp, text).expect("write manifest");
    std::fs::rename(&temp, dir.join(name)).expect("rename manifest into place");
}

fn member(file: &str, plugin: &str) -> String {
    format!("[[member]]\nfile = {file:?}\nplugin = {plugin:?}\n")
}

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("read artifact");
    Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Requests `/gallery/art/1` until stopped; each answer as (status, adapter, boxart).
fn traffic(host: &TestHost, stop: Arc<AtomicBool>) -> JoinHandle<Vec<(u16, String, String)>> {
    let url = host.url("/gallery/art/1");
    tokio::spawn(async move {
        let mut seen = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            let reply = get(&url).await;
            let boxart = if reply.status == 200 {
                reply.json()["boxart"].as_str().unwrap_or("").to_owned()
            } else {
                String::new()
            };
            seen.push((reply.status, reply.adapter().to_owned(), boxart));
        }
        seen
    })
}

/// The status of a request that asks for gallery 2.0.0 exactly.
async fn pinned_to_2(host: &TestHost) -> u16 {
    send(
        hyper::Method::GET,
        &host.url("/gallery/art/1"),
        &[("x-frontdoor-version", "=2.0.0")],
        Vec::new(),
    )
    .await
    .status
}

async fn gallery_host() -> TestHost {
    let host = TestHost::with(&[GALLERY_1, ARTWORK_11]).await;
    host.wait_for_version("/gallery/art/1", "gallery@1.0.0")
        .await;
    let reply = get(&host.url("/gallery/art/1")).await;
    assert!(
        reply.json()["boxart"]
            .as_str()
            .is_some_and(|boxart| boxart.starts_with("artwork@1.1.0/")),
        "{:?}",
        reply.body
    );
    host
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_bundle_publishes_its_adapter_and_module_together() {
    let host = gallery_host().await;
    let stop = Arc::new(AtomicBool::new(false));
    let requests = traffic(&host, stop.clone());

    // The manifest first: from then on its members are the bundle's, whatever order they
    // land in, and neither is deployed alone.
    write_manifest(
        host.dir(),
        "release.bundle.toml",
        &format!(
            "{}{}sha256 = {:?}\n",
            member("gallery-2.0.0.so", "gallery@2.0.0"),
            member("artwork-1.2.0.so", "artwork@1.2.0"),
            sha256_hex(&ARTWORK_12.artifact()),
        ),
    );
    GALLERY_2.rename_into(host.dir(), "gallery-2.0.0.so");
    // The adapter landed first: its bundle took it, and waits for the module.
    host.wait_for_failure(
        "gallery-2.0.0.so",
        "bundle release: member artwork-1.2.0.so failed: missing file",
    )
    .await;
    assert_eq!(pinned_to_2(&host).await, 404, "not deployed on its own");
    ARTWORK_12.rename_into(host.dir(), "artwork-1.2.0.so");
    host.wait_for_version("/gallery/art/1", "gallery@2.0.0")
        .await;

    stop.store(true, Ordering::SeqCst);
    let seen = requests.await.expect("traffic task");
    for (status, adapter, boxart) in &seen {
        assert_eq!(*status, 200, "{adapter} {boxart}");
        match adapter.as_str() {
            "gallery@1.0.0" => {}
            "gallery@2.0.0" => {
                assert!(
                    boxart.starts_with("artwork@1.2.0/"),
                    "gallery@2.0.0 answered bound to another module: {boxart}"
                );
            }
            other => panic!("unexpected adapter {other}"),
        }
    }
    let reply = get(&host.url("/gallery/art/1")).await;
    assert_eq!(reply.adapter(), "gallery@2.0.0");
    assert!(
        reply.json()["boxart"]
            .as_str()
            .is_some_and(|boxart| boxart.starts_with("artwork@1.2.0/"))
    );
    let plugins = host.plugins().await;
    assert_eq!(
        plugins["failed"].as_array().map(Vec::len),
        Some(0),
        "the transient 'missing file' reports are gone: {plugins:#}"
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_with_one_bad_member_publishes_nothing() {
    let host = gallery_host().await;
    let stop = Arc::new(AtomicBool::new(false));
    let requests = traffic(&host, stop.clone());
    let dir = host.dir();
    let release = |artwork: &str, extra: &str| {
        format!(
            "{}{}{extra}",
            member("gallery-2.0.0.so", "gallery@2.0.0"),
            member("artwork-1.2.0.so", artwork)
        )
    };

    // The manifest first, so the adapter is the bundle's from the moment it lands: a
    // gallery-2.0.0.so that arrived alone could deploy on its own (artwork 1.1.0 satisfies
    // it) before the watcher ever saw a manifest. Then corrupt bytes under the module's
    // name, then the adapter.
    write_manifest(dir, "release.bundle.toml", &release("artwork@1.2.0", ""));
    std::fs::write(dir.join(".artwork.tmp"), b"\x7fELF but not really").expect("write");
    std::fs::rename(dir.join(".artwork.tmp"), dir.join("artwork-1.2.0.so")).expect("rename");
    GALLERY_2.rename_into(dir, "gallery-2.0.0.so");
    let reason = host
        .wait_for_failure("gallery-2.0.0.so", "less than an ELF header")
        .await;
    assert!(
        reason.contains("bundle release: member artwork-1.2.0.so failed: "),
        "{reason}"
    );
    host.wait_for_failure(
        "artwork-1.2.0.so",
        "bundle release: member artwork-1.2.0.so failed: ",
    )
    .await;

    // A real module, but not the version the manifest expects (the manifest changes
    // first: the one before would accept the real module).
    write_manifest(dir, "release.bundle.toml", &release("artwork@1.3.0", ""));
    ARTWORK_12.rename_into(dir, "artwork-1.2.0.so");
    host.wait_for_failure(
        "gallery-2.0.0.so",
        "it is artwork@1.2.0, the bundle expects artwork@1.3.0",
    )
    .await;

    // The right version, but not the bytes the manifest vouches for.
    let zeros = format!("sha256 = {:?}\n", "0".repeat(64));
    write_manifest(
        dir,
        "release.bundle.toml",
        &release("artwork@1.2.0", &zeros),
    );
    host.wait_for_failure("artwork-1.2.0.so", "the bundle expects 0000")
        .await;

    // A member whose warm-up fails (the manifest first: the member is the bundle's as it
    // lands, never deployed alone).
    write_manifest(
        dir,
        "release.bundle.toml",
        &format!(
            "{}{}",
            release("artwork@1.2.0", ""),
            member("warmer-2.0.0.so", "warmer@2.0.0")
        ),
    );
    Fixture::Warmer {
        version: "2.0.0",
        mode: "error",
    }
    .rename_into(dir, "warmer-2.0.0.so");
    host.wait_for_failure(
        "gallery-2.0.0.so",
        "member warmer-2.0.0.so failed: warm-up failed: warmer: the cache backend said no",
    )
    .await;

    // A member that is not there.
    write_manifest(
        dir,
        "release.bundle.toml",
        &format!(
            "{}{}",
            release("artwork@1.2.0", ""),
            member("absent-1.0.0.so", "absent@1.0.0")
        ),
    );
    host.wait_for_failure(
        "artwork-1.2.0.so",
        "member absent-1.0.0.so failed: missing file",
    )
    .await;

    stop.store(true, Ordering::SeqCst);
    let seen = requests.await.expect("traffic task");
    assert!(!seen.is_empty());
    for (status, adapter, boxart) in &seen {
        assert_eq!(
            (*status, adapter.as_str()),
            (200, "gallery@1.0.0"),
            "{boxart}"
        );
        assert!(boxart.starts_with("artwork@1.1.0/"), "{boxart}");
    }
    assert_eq!(
        pinned_to_2(&host).await,
        404,
        "gallery@2.0.0 was never published"
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_manifest_is_reported_and_other_files_keep_deploying() {
    let host = TestHost::with(&[]).await;
    let dir = host.dir();
    write_manifest(
        dir,
        "escape.bundle.toml",
        &member("../../etc/evil-1.0.0.so", "evil@1.0.0"),
    );
    write_manifest(dir, "garbled.bundle.toml", "[[member]\nfile = ");
    std::os::unix::fs::symlink("/dev/zero", dir.join("link.bundle.toml")).expect("symlink");
    let many: String = (0..17)
        .map(|i| member(&format!("p{i}-1.0.0.so"), &format!("p{i}@1.0.0")))
        .collect();
    write_manifest(dir, "many.bundle.toml", &many);

    host.wait_for_failure("escape.bundle.toml", "without a directory part")
        .await;
    host.wait_for_failure("garbled.bundle.toml", "not valid")
        .await;
    host.wait_for_failure("link.bundle.toml", "not a regular file")
        .await;
    host.wait_for_failure("many.bundle.toml", "more than the limit of 16")
        .await;

    // A file no manifest names deploys on its own, as ever.
    Fixture::Echo("1.0.0").rename_into(dir, "echo-1.0.0.so");
    host.wait_for_version("/echo/hello", "echo@1.0.0").await;
    host.stop().await;
}
