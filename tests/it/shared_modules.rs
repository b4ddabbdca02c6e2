//! Shared modules bound by semver requirement and interface layout, side by side, rebound
//! live: real module and consumer cdylibs, real files, real HTTP.

use crate::support::{Fixture, TestHost, eventually, get};

const GALLERY: Fixture = Fixture::Gallery {
    version: "1.0.0",
    requirement: "^1.0",
};

/// The `boxart` URL `gallery` answers for title `id`, and the module version behind it.
async fn gallery_boxart(host: &TestHost, id: u64) -> String {
    let reply = get(&host.url(&format!("/gallery/art/{id}"))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.json()["boxart"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Polls until `gallery` is served by artwork `version`.
async fn wait_for_gallery_module(host: &TestHost, version: &str) {
    let expected = format!("artwork@{version}/");
    let url = host.url("/gallery/art/7");
    eventually(&format!("gallery bound to {expected}"), || async {
        let reply = get(&url).await;
        let boxart = reply.json()["boxart"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if reply.status == 200 && boxart.starts_with(&expected) {
            Ok(())
        } else {
            Err(boxart)
        }
    })
    .await;
}

fn requirement_binding(entry: &serde_json::Value) -> &str {
    entry["requires"][0]["bound"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirements_bind_the_highest_compatible_version_and_rebind_live() {
    let host = TestHost::with(&[
        Fixture::Artwork10,
        Fixture::ArtworkImpl("1.1.0"),
        Fixture::Artwork20,
        GALLERY,
        Fixture::GalleryPinned,
        Fixture::Mobile,
        Fixture::Tv,
    ])
    .await;

    // ^1.0 binds the highest 1.x: 1.1.0, not 1.0.0 (and never 2.0.0).
    assert!(gallery_boxart(&host, 7).await.starts_with("artwork@1.1.0/"));
    let gallery = host
        .version_entry("gallery", "1.0.0")
        .await
        .expect("gallery listed");
    assert_eq!(requirement_binding(&gallery), "artwork@1.1.0");
    // =1.0.0 binds exactly 1.0.0, the real first release.
    let pinned = get(&host.url("/gallery-pinned/art/7")).await;
    assert_eq!(pinned.status, 200);
    assert_eq!(
        pinned.json()["boxart"],
        "https://img.example.test/boxart/w342/7.jpg"
    );
    // ^2 binds 2.0.0 alongside the 1.x versions; tv (^1.1) shares 1.1.0 with gallery.
    // (Their pages, which also need backends, are exercised in `backends`.)
    let v2 = host
        .version_entry("artwork", "2.0.0")
        .await
        .expect("artwork 2 listed");
    assert_eq!(v2["bound_by"], serde_json::json!(["mobile@1.0.0"]));
    assert_eq!(v2["state"], "active");
    let v11 = host
        .version_entry("artwork", "1.1.0")
        .await
        .expect("artwork 1.1 listed");
    assert_eq!(
        v11["bound_by"],
        serde_json::json!(["gallery@1.0.0", "tv@1.0.0"])
    );

    // A request in flight on 1.1.0 while 1.2.0 lands keeps 1.1.0; new requests get 1.2.0.
    let slow = tokio::spawn(get_owned(host.url("/gallery/art/7?wait_ms=1500")));
    host.wait_for_entry("artwork", "1.1.0", |entry| entry["in_flight"] == 1)
        .await;
    Fixture::ArtworkImpl("1.2.0").rename_into(host.dir(), "artwork-1.2.0.so");
    wait_for_gallery_module(&host, "1.2.0").await;
    let slow = slow.await.expect("slow request");
    assert_eq!(slow.status, 200);
    assert!(
        slow.json()["boxart"]
            .as_str()
            .unwrap_or("")
            .starts_with("artwork@1.1.0/"),
        "the in-flight request finished on the module it started with: {:?}",
        slow.json()
    );
    // The exact pin never moves.
    let pinned = host
        .version_entry("gallery-pinned", "1.0.0")
        .await
        .expect("pinned listed");
    assert_eq!(requirement_binding(&pinned), "artwork@1.0.0");

    // Removing 1.2.0 falls back to 1.1.0; 1.2.0 retires once nothing uses it.
    std::fs::remove_file(host.dir().join("artwork-1.2.0.so")).expect("remove 1.2.0");
    wait_for_gallery_module(&host, "1.1.0").await;
    host.wait_for_entry("artwork", "1.2.0", |entry| entry["state"] == "retired")
        .await;
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_stays_bound_while_a_pinned_consumer_uses_it_after_its_file_is_gone() {
    let host = TestHost::with(&[
        Fixture::Artwork10,
        Fixture::ArtworkImpl("1.1.0"),
        Fixture::GalleryPinned,
    ])
    .await;
    assert_eq!(get(&host.url("/gallery-pinned/art/1")).await.status, 200);

    std::fs::remove_file(host.dir().join("artwork-1.0.0.so")).expect("remove 1.0.0");
    host.wait_for_entry("artwork", "1.0.0", |entry| entry["state"] == "draining")
        .await;
    let entry = host
        .version_entry("artwork", "1.0.0")
        .await
        .expect("1.0.0 still listed");
    assert_eq!(
        entry["bound_by"],
        serde_json::json!(["gallery-pinned@1.0.0"])
    );
    let pinned = get(&host.url("/gallery-pinned/art/1")).await;
    assert_eq!(pinned.status, 200, "the pinned consumer keeps its module");
    assert_eq!(
        pinned.json()["boxart"],
        "https://img.example.test/boxart/w342/1.jpg"
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsatisfiable_or_incompatible_requirements_fail_while_the_previous_version_serves() {
    // Only 1.0.0 is loaded: semver says it fits ^1.0, but gallery was compiled against the
    // 1.1 interface (with hero_url), so the layout check refuses it.
    let host = TestHost::with(&[Fixture::Artwork10, GALLERY, Fixture::Texter]).await;
    let gallery = host
        .version_entry("gallery", "1.0.0")
        .await
        .expect("gallery listed");
    assert_eq!(gallery["state"], "failed");
    let reason = gallery["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("requires artwork ^1.0")
            && reason.contains("artwork@1.0.0")
            && reason.contains("interface is incompatible"),
        "{reason}"
    );
    assert_eq!(
        get(&host.url("/gallery/art/1")).await.status,
        404,
        "a failed version takes no requests"
    );

    let texter = host
        .version_entry("texter", "1.0.0")
        .await
        .expect("texter listed");
    assert_eq!(texter["state"], "failed");
    assert!(
        texter["reason"]
            .as_str()
            .unwrap_or("")
            .contains("no shared module named facade is loaded"),
        "{texter}"
    );

    // A compatible module arriving makes the consumer whole.
    Fixture::ArtworkImpl("1.1.0").rename_into(host.dir(), "artwork-1.1.0.so");
    wait_for_gallery_module(&host, "1.1.0").await;
    host.wait_for_entry("gallery", "1.0.0", |entry| entry["state"] == "active")
        .await;

    // A new gallery requiring ^3 fails with the loaded versions named; 1.0.0 keeps serving.
    Fixture::Gallery {
        version: "2.0.0",
        requirement: "^3",
    }
    .rename_into(host.dir(), "gallery-2.0.0.so");
    host.wait_for_entry("gallery", "2.0.0", |entry| entry["state"] == "failed")
        .await;
    let failed = host
        .version_entry("gallery", "2.0.0")
        .await
        .expect("gallery 2 listed");
    assert_eq!(
        failed["reason"],
        "requires artwork ^3: no loaded version satisfies it (loaded: 1.1.0, 1.0.0)"
    );
    let reply = get(&host.url("/gallery/art/1")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.adapter(), "gallery@1.0.0");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_inside_a_shared_module_fails_only_that_request() {
    let host = TestHost::with(&[
        Fixture::ArtworkImpl("1.1.0"),
        GALLERY,
        Fixture::Echo("1.0.0"),
    ])
    .await;
    let reply = get(&host.url("/gallery/art/666")).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.json()["error"], "internal error");
    assert_eq!(get(&host.url("/gallery/art/1")).await.status, 200);
    assert_eq!(get(&host.url("/echo/hello")).await.status, 200);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modules_require_modules_and_cycles_are_refused() {
    let host = TestHost::with(&[
        Fixture::Formatter,
        Fixture::Facade {
            name: "facade",
            requires: "formatter",
        },
        Fixture::Texter,
        Fixture::Facade {
            name: "ping",
            requires: "pong",
        },
        Fixture::Facade {
            name: "pong",
            requires: "ping",
        },
    ])
    .await;
    // texter → facade → formatter.
    let reply = get(&host.url("/texter/shout/hi")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.json()["text"], "[HI]");
    let facade = host
        .version_entry("facade", "1.0.0")
        .await
        .expect("facade listed");
    assert_eq!(requirement_binding(&facade), "formatter@1.0.0");
    assert_eq!(facade["bound_by"], serde_json::json!(["texter@1.0.0"]));

    for (name, other) in [("ping", "pong"), ("pong", "ping")] {
        let entry = host.version_entry(name, "1.0.0").await.expect("listed");
        assert_eq!(entry["state"], "failed", "{entry}");
        let reason = entry["reason"].as_str().unwrap_or("");
        assert!(
            reason.contains(&format!("requires {other} ^1")) && reason.contains("cycle"),
            "{reason}"
        );
    }
    host.stop().await;
}

async fn get_owned(url: String) -> crate::support::Reply {
    get(&url).await
}
