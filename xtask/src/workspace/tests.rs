//! Tests of plugin discovery and argument resolution against this very workspace.

use super::{PluginKind, Workspace, plugin_kind};
use std::path::Path;

#[test]
fn only_cdylibs_under_plugin_directories_are_plugins() {
    let root = Path::new("/ws");
    assert_eq!(
        plugin_kind(root, Path::new("/ws/plugins/tv")),
        Some(PluginKind::Adapter)
    );
    assert_eq!(
        plugin_kind(root, Path::new("/ws/shared-modules/artwork")),
        Some(PluginKind::SharedModule)
    );
    assert_eq!(plugin_kind(root, Path::new("/ws/plugins")), None);
    assert_eq!(
        plugin_kind(root, Path::new("/ws/tests/fixtures/echo")),
        None
    );
    assert_eq!(plugin_kind(root, Path::new("/ws/host")), None);
}

#[test]
fn a_plugin_is_found_by_name_and_by_directory() {
    let workspace = Workspace::load().expect("cargo metadata works");
    let absolute = workspace.root.join("plugins/bench");
    for arg in [
        "bench",
        "plugins/bench",
        "./plugins/bench/",
        &absolute.display().to_string(),
    ] {
        let package = workspace.find_plugin(arg).expect(arg);
        assert_eq!(package.name, "bench", "{arg}");
    }
}

#[test]
fn non_plugins_are_refused_with_a_reason() {
    let workspace = Workspace::load().expect("cargo metadata works");
    let error = workspace
        .find_plugin("frontdoor")
        .expect_err("the host is no plugin");
    assert!(error.to_string().contains("not a plugin"), "{error:#}");
    let error = workspace.find_plugin("no-such-thing").expect_err("unknown");
    assert!(error.to_string().contains("no-such-thing"), "{error:#}");
}
