//! Shared modules bound by semver requirement and interface layout, side by side, rebound
//! live, with bindings fixed per request at every depth, and panics contained: real module
//! and consumer cdylibs, real files, real HTTP. Requests are held in flight by the [`Gate`]
//! backend, never by a timer.

mod gate;

use frontdoor::{HostConfig, containment::QuarantineConfig};
use gate::Gate;

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

/// A host over `fixtures` that can call the gate, with a deadline long enough for a parked
/// request to wait as long as a test step takes.
async fn host_with_gate(fixtures: &[Fixture], gate: &Gate) -> TestHost {
    let backend = gate.backend();
    TestHost::with_config(fixtures, move |config: &mut HostConfig| {
        config.backends = vec![backend];
        config.request_deadline = std::time::Duration::from_secs(120);
    })
    .await
}

/// The facade over the formatter, requiring it with `requirement`.
const fn facade(requirement: &'static str) -> Fixture {
    Fixture::Facade {
        name: "facade",
        requires: "formatter",
        requirement,
    }
}

/// `GET /texter/chain`: the module versions serving a new request, at every depth.
async fn chain(host: &TestHost) -> String {
    let reply = get(&host.url("/texter/chain")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.json()["chain"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirements_bind_the_highest_compatible_version_and_rebind_live() {
    // Built before anything is held open: a build is no part of what the test watches.
    let newer = Fixture::ArtworkImpl("1.2.0");
    newer.artifact();
    let mut gate = Gate::start().await;
    let host = host_with_gate(
        &[
            Fixture::Artwork10,
            Fixture::ArtworkImpl("1.1.0"),
            Fixture::Artwork20,
            GALLERY,
            Fixture::GalleryPinned,
            Fixture::Mobile,
            Fixture::Tv,
        ],
        &gate,
    )
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

    // A request parked at the gate, before it asks for its module, while 1.2.0 lands: it
    // keeps the 1.1.0 its request was bound to; new requests get 1.2.0.
    let parked = tokio::spawn(get_owned(host.url("/gallery/art/7?gate=1")));
    gate.arrival().await;
    host.wait_for_entry("artwork", "1.1.0", |entry| entry["in_flight"] == 1)
        .await;
    newer.rename_into(host.dir(), "artwork-1.2.0.so");
    wait_for_gallery_module(&host, "1.2.0").await;
    gate.open();
    let parked = parked.await.expect("parked request");
    assert_eq!(parked.status, 200, "{:?}", parked.body);
    assert_eq!(
        parked.json()["boxart"],
        "artwork@1.1.0/boxart/w342/7",
        "the parked request finished on the module it started with"
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
async fn an_in_flight_request_keeps_its_module_versions_at_every_depth() {
    let newer = Fixture::Formatter("1.1.0");
    newer.artifact();
    let mut gate = Gate::start().await;
    let host = host_with_gate(
        &[Fixture::Formatter("1.0.0"), facade("^1"), Fixture::Texter],
        &gate,
    )
    .await;
    assert_eq!(chain(&host).await, "facade@1.0.0 > formatter@1.0.0");

    // Parked between two calls down texter → facade → formatter.
    let parked = tokio::spawn(get_owned(host.url("/texter/chain-around-a-backend-call")));
    gate.arrival().await;
    // The request counts in every module it is bound to, the second level included.
    host.wait_for_entry("formatter", "1.0.0", |entry| entry["in_flight"] == 1)
        .await;

    // formatter 1.1.0 lands and is published: the facade is rebound to it, and new
    // requests reach it through the same facade version.
    newer.rename_into(host.dir(), "formatter-1.1.0.so");
    host.wait_for_entry("facade", "1.0.0", |entry| {
        requirement_binding(entry) == "formatter@1.1.0"
    })
    .await;
    assert_eq!(chain(&host).await, "facade@1.0.0 > formatter@1.1.0");
    // 1.0.0 is no longer bound by anyone (the admin API leaves `bound_by` out), yet the
    // parked request still holds it.
    let old = host
        .version_entry("formatter", "1.0.0")
        .await
        .expect("formatter 1.0.0 listed");
    assert!(old.get("bound_by").is_none(), "{old}");
    assert_eq!(old["in_flight"], 1);

    gate.open();
    let parked = parked.await.expect("parked request");
    assert_eq!(parked.status, 200, "{:?}", parked.body);
    assert_eq!(
        parked.json(),
        serde_json::json!({
            "before": "facade@1.0.0 > formatter@1.0.0",
            "after": "facade@1.0.0 > formatter@1.0.0",
        }),
        "one set of versions at every depth for the request's whole life"
    );
    host.wait_for_entry("formatter", "1.0.0", |entry| entry["in_flight"] == 0)
        .await;
    assert_eq!(chain(&host).await, "facade@1.0.0 > formatter@1.1.0");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_pins_hold_at_the_second_level() {
    // texter → facade (formatter =1.0.0) → formatter, while `loose` (formatter ^1) takes
    // the newest formatter beside it.
    let host = TestHost::with(&[
        Fixture::Formatter("1.0.0"),
        Fixture::Formatter("1.1.0"),
        facade("=1.0.0"),
        Fixture::Facade {
            name: "loose",
            requires: "formatter",
            requirement: "^1",
        },
        Fixture::Texter,
    ])
    .await;
    assert_eq!(chain(&host).await, "facade@1.0.0 > formatter@1.0.0");
    let loose = host.version_entry("loose", "1.0.0").await.expect("listed");
    assert_eq!(requirement_binding(&loose), "formatter@1.1.0");

    // A newer patch lands (and, bound by nobody, stands by): the pin does not move.
    Fixture::Formatter("1.0.1").rename_into(host.dir(), "formatter-1.0.1.so");
    host.wait_for_entry("formatter", "1.0.1", |entry| entry["state"] == "standby")
        .await;
    assert_eq!(chain(&host).await, "facade@1.0.0 > formatter@1.0.0");

    // The pinned version's file goes: the facade keeps it, and so does every request.
    std::fs::remove_file(host.dir().join("formatter-1.0.0.so")).expect("remove 1.0.0");
    host.wait_for_entry("formatter", "1.0.0", |entry| entry["state"] == "draining")
        .await;
    let facade_entry = host.version_entry("facade", "1.0.0").await.expect("listed");
    assert_eq!(requirement_binding(&facade_entry), "formatter@1.0.0");
    assert_eq!(chain(&host).await, "facade@1.0.0 > formatter@1.0.0");
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
async fn a_module_that_panics_without_a_guard_costs_its_callers_an_error_not_the_host() {
    // texter → facade → a formatter that panics on short text and guards nothing by hand.
    let host = TestHost::with(&[
        Fixture::PanickyFormatter,
        facade("^1"),
        Fixture::Texter,
        Fixture::Echo("1.0.0"),
    ])
    .await;
    assert_eq!(
        chain(&host).await,
        "facade@1.0.0 > formatter@1.0.0 (headline)"
    );

    // The panic, two modules down, is an error value for the adapter: unhandled, a 500...
    let reply = get(&host.url("/texter/shout/hi")).await;
    assert_eq!(reply.status, 500, "{:?}", reply.body);
    assert_eq!(reply.json()["error"], "internal error");
    // ...or a fallback, with the kind of failure to act on.
    let reply = get(&host.url("/texter/shout-or-echo/hi")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.json()["text"], "hi");
    let fallback = reply.json()["fallback"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        fallback.starts_with("Panicked: ") && fallback.contains("out of bounds"),
        "{fallback}"
    );

    // Many at once, on every worker: each is contained. As many as the default quarantine
    // policy tolerates (two panicked above, and one more would cross its threshold), so the
    // version stays active whenever the monitor samples the module's panic count; crossing
    // it is the quarantine's business (`containment::a_version_that_panics_on_every_request_...`).
    let tolerated = QuarantineConfig::default().panics - 3;
    assert!(tolerated >= 8, "enough to reach every worker");
    let panics: Vec<_> = (0..tolerated)
        .map(|_| tokio::spawn(get_owned(host.url("/texter/shout/no"))))
        .collect();
    for panic in panics {
        assert_eq!(panic.await.expect("request").status, 500);
    }
    // The same module keeps serving what it can, and so does everything else.
    let reply = get(&host.url("/texter/shout/headlines")).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.json()["text"], "[HEADLINE]");
    assert_eq!(get(&host.url("/echo/hello")).await.status, 200);
    let formatter = host
        .version_entry("formatter", "1.0.0")
        .await
        .expect("listed");
    assert_eq!(formatter["state"], "active");
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modules_require_modules_and_cycles_are_refused() {
    let host = TestHost::with(&[
        Fixture::Formatter("1.0.0"),
        facade("^1"),
        Fixture::Texter,
        Fixture::Facade {
            name: "ping",
            requires: "pong",
            requirement: "^1",
        },
        Fixture::Facade {
            name: "pong",
            requires: "ping",
            requirement: "^1",
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
