//! Publication at scale: what a publication rebuilds, and what a request builds (nothing),
//! on a real registry holding compiled-in adapters (routed as loaded ones are).

use std::sync::Arc;

use frontdoor_plugin_api::routing::trees_built_on_this_thread;
use hyper::Method;

use crate::{
    registry::{PluginVersion, Registry, test_registry::registry},
    router::RouteMatch,
};

fn adapter(name: &str) -> PluginVersion {
    PluginVersion::builtin(
        name,
        &semver::Version::new(1, 0, 0),
        &[
            (Method::GET, "/items/new"),
            (Method::GET, "/items/{id}"),
            (Method::POST, "/items/{id}"),
        ],
        |route, _query| (200, bytes::Bytes::from(route.to_string())),
    )
}

/// **Invariant:** route trees are built when a version is loaded, never by a publication
/// nor by a request: publishing and routing on this thread build none.
#[test]
fn publications_and_requests_build_no_route_tree() {
    let root = tempfile::tempdir().expect("scratch");
    let registry = registry(root.path());
    let versions: Vec<PluginVersion> = ["a", "b", "c"].map(adapter).into();
    let built = trees_built_on_this_thread();
    for version in versions {
        registry.add_builtin(version);
    }
    registry.republish();
    let table = registry.table();
    for name in ["a", "b", "c"] {
        let routed = table
            .adapter(name)
            .and_then(|adapter| adapter.select(None))
            .expect("routable");
        for _ in 0..100 {
            assert!(matches!(
                routed.version.route(&Method::GET, "/items/7"),
                RouteMatch::Found { route: 1, .. }
            ));
            assert!(matches!(
                routed.version.route(&Method::PUT, "/items/new"),
                RouteMatch::MethodNotAllowed
            ));
        }
    }
    assert_eq!(trees_built_on_this_thread(), built);
    registry.loader().close();
}

fn entry(registry: &Registry, name: &str) -> Arc<crate::router::AdapterVersions> {
    registry
        .table()
        .entry(name)
        .map(|(_, entry)| entry.clone())
        .expect("routed")
}

/// **Invariant:** a publication rebuilds only what changed: every other adapter keeps the
/// very entry it had.
#[test]
fn a_publication_keeps_the_entries_of_unchanged_adapters() {
    let root = tempfile::tempdir().expect("scratch");
    let registry = registry(root.path());
    for name in ["a", "b", "c"] {
        registry.add_builtin(adapter(name));
    }
    let first: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|name| entry(&registry, name))
        .collect();
    let same = |names: [&str; 3], entries: &[Arc<crate::router::AdapterVersions>]| {
        names
            .iter()
            .zip(entries)
            .map(|(name, before)| Arc::ptr_eq(&entry(&registry, name), before))
            .collect::<Vec<bool>>()
    };

    registry.add_builtin(adapter("d"));
    assert_eq!(same(["a", "b", "c"], &first), [true, true, true]);
    assert!(registry.table().adapter("d").is_some());
    registry.republish();
    assert_eq!(same(["a", "b", "c"], &first), [true, true, true]);

    // A pin changes its adapter's entry, and only that one.
    registry.set_policy(crate::router::OperatorPolicy {
        adapter_pins: [("b".to_owned(), semver::Version::new(1, 0, 0))].into(),
        ..Default::default()
    });
    assert_eq!(same(["a", "b", "c"], &first), [true, false, true]);
    assert_eq!(entry(&registry, "b").pinned, Some(0));

    // Disabled, an adapter's only version leaves the table; enabled, it comes back.
    registry.set_policy(crate::router::OperatorPolicy {
        disabled: [(
            "c".to_owned(),
            [semver::Version::new(1, 0, 0)].into_iter().collect(),
        )]
        .into(),
        ..Default::default()
    });
    assert!(registry.table().adapter("c").is_none());
    assert_eq!(entry(&registry, "b").pinned, None);
    assert!(Arc::ptr_eq(&entry(&registry, "a"), &first[0]));
    registry.set_policy(crate::router::OperatorPolicy::default());
    assert!(registry.table().adapter("c").is_some());
    registry.loader().close();
}

/// The publication that builds one entry at a time finds what the one that builds them all
/// finds: the same adapters, versions, bindings and pins.
#[test]
fn building_what_changed_matches_building_everything() {
    let root = tempfile::tempdir().expect("scratch");
    let registry = registry(root.path());
    for name in ["a", "b", "c"] {
        registry.add_builtin(adapter(name));
    }
    registry.add_builtin(PluginVersion::builtin(
        "a",
        &semver::Version::new(2, 0, 0),
        &[(Method::GET, "/")],
        |_, _| (200, bytes::Bytes::new()),
    ));
    registry.set_policy(crate::router::OperatorPolicy {
        adapter_pins: [("a".to_owned(), semver::Version::new(1, 0, 0))].into(),
        ..Default::default()
    });
    let incremental = registry.table();
    let mut state = registry.lock();
    state.published = super::Published::default();
    registry.publish(&mut state);
    drop(state);
    let full = registry.table();
    let mut names: Vec<&Arc<str>> = incremental.entries().keys().collect();
    names.sort();
    let mut full_names: Vec<&Arc<str>> = full.entries().keys().collect();
    full_names.sort();
    assert_eq!(names, full_names);
    for name in names {
        let (a, b) = (
            incremental.adapter(name).expect("routed"),
            full.adapter(name).expect("routed"),
        );
        assert!(a.same_as(b), "{name}");
    }
    let a = full.adapter("a").expect("routed");
    assert_eq!(a.versions.len(), 2);
    assert_eq!(
        a.versions[0].version.identity.version.major, 2,
        "highest first"
    );
    assert_eq!(a.pinned, Some(1));
    registry.loader().close();
}
