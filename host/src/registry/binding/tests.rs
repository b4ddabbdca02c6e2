//! Resolution and binding trees over in-process modules: real interface tables built by
//! `module_interface!` (the `artwork` v1 interface), real layout checks, no files.

use std::{path::Path, sync::Arc};

use abi_stable::{
    StableAbi,
    prefix_type::PrefixTypeTrait,
    std_types::{ROption, RResult, RString},
};
use artwork_api::{Artwork, ArtworkModule};
use async_ffi::FfiFuture;
use frontdoor_plugin_api::{
    HandlerError, HostRequestObj, Interface, Manifest, ModuleCallError, ModuleExport,
    PluginHostObj, PluginKind, PluginModule, abi::HandlerFuture,
};

use super::{BindingSets, Interfaces, Resolution, resolve, run_layout_checks};
use crate::{
    loader::{LoadedLibrary, PluginIdentity, ValidManifest, ValidRequirement},
    registry::PluginVersion,
};

struct Urls;

impl ArtworkModule for Urls {
    fn boxart_url(title_id: u64, width: u32) -> Result<RString, ModuleCallError> {
        Ok(format!("{title_id}/{width}").into())
    }

    fn hero_url(title_id: u64) -> Result<RString, ModuleCallError> {
        Ok(format!("{title_id}").into())
    }
}

/// A root module whose entry points are never called by resolution (and fail if they are).
fn inert_root() -> frontdoor_plugin_api::PluginModuleRef {
    extern "C" fn manifest() -> RResult<Manifest, RString> {
        RResult::RErr("not called in these tests".into())
    }
    extern "C" fn init(_host: PluginHostObj) -> RResult<(), RString> {
        RResult::RErr("not called in these tests".into())
    }
    extern "C" fn handle(_route: u32, _request: HostRequestObj) -> HandlerFuture {
        FfiFuture::new(std::future::ready(RResult::RErr(HandlerError::failed(
            "not called in these tests",
        ))))
    }
    extern "C" fn export() -> ROption<ModuleExport> {
        ROption::RNone
    }
    extern "C" fn stats() -> frontdoor_plugin_api::PluginStats {
        frontdoor_plugin_api::PluginStats::default()
    }
    extern "C" fn set_log_level(_level: frontdoor_plugin_api::LogLevel) {}
    PluginModule {
        manifest,
        init,
        handle,
        export,
        stats,
        set_log_level,
        warmup: None,
        init_hook: None,
    }
    .leak_into_prefix()
}

/// A library named `name@version` that requires `requires` (module, requirement) through
/// the artwork interface, and exports an artwork table if `exports`.
fn library(name: &str, version: &str, requires: &[(&str, &str)], exports: bool) -> LoadedLibrary {
    let version = semver::Version::parse(version).expect("version");
    let kind = if exports {
        PluginKind::SharedModule
    } else {
        PluginKind::Adapter
    };
    LoadedLibrary {
        module: inert_root(),
        export: exports.then(Artwork::__frontdoor_export::<Urls>),
        manifest: ValidManifest {
            name: name.to_owned(),
            version: version.clone(),
            kind,
            sdk_version: "test".to_owned(),
            routes: Vec::new(),
            requires: requires
                .iter()
                .map(|(module, requirement)| ValidRequirement {
                    module: (*module).to_owned(),
                    requirement: semver::VersionReq::parse(requirement).expect("requirement"),
                    interface: <<Artwork as Interface>::Table as StableAbi>::LAYOUT,
                })
                .collect(),
        },
        identity: Arc::new(PluginIdentity::new(name, &version)),
        mapped_copy: Path::new("/nonexistent").to_owned(),
        file_bytes: 0,
    }
}

/// Versions deployed one after the other, the way the registry does it.
#[derive(Default)]
struct Deployed {
    versions: Vec<Arc<PluginVersion>>,
    resolution: Resolution,
    /// Operators' module pins.
    pins: std::collections::BTreeMap<String, semver::Version>,
}

impl Deployed {
    /// Loads `library` beside the others, making its layout checks first unless `unchecked`.
    fn deploy(&mut self, library: LoadedLibrary, checked: bool) -> Arc<PluginVersion> {
        if checked {
            let pending = self
                .resolution
                .layout_checks()
                .pending(&self.versions, &Interfaces::of_library(&library));
            let made = run_layout_checks(pending);
            self.resolution.layout_checks_mut().record(made);
        }
        let health = |label: &str, routes| {
            let defaults = crate::containment::ContainmentConfig::default();
            crate::containment::VersionHealth::leak(
                label.to_owned(),
                routes,
                crate::containment::HealthLimits {
                    quarantine: defaults.quarantine,
                    max_poll: defaults.max_poll,
                    memory_limit: defaults.memory_limit_bytes,
                },
                None,
            )
        };
        let version = Arc::new(PluginVersion::from_library(
            Path::new("test.so"),
            library,
            health,
        ));
        self.versions.push(version.clone());
        self.resolution = resolve(&self.versions, &mut self.resolution, &self.pins);
        version
    }
}

#[test]
fn resolution_binds_with_checks_made_beforehand_and_never_makes_one() {
    let mut deployed = Deployed::default();
    deployed.deploy(library("artwork", "1.1.0", &[], true), true);
    let unchecked = deployed.deploy(
        library("gallery", "1.0.0", &[("artwork", "^1")], false),
        false,
    );
    assert_eq!(
        deployed.resolution.unresolved(&unchecked),
        Some(
            "requires artwork ^1: artwork@1.1.0: its interface was not checked against this consumer"
        )
    );
    let checked = deployed.deploy(
        library("gallery", "1.0.1", &[("artwork", "^1")], false),
        true,
    );
    let bindings = deployed.resolution.bindings(&checked).expect("bound");
    assert_eq!(bindings[0].module.identity.label, "artwork@1.1.0");
}

#[test]
fn a_module_pin_wins_among_the_versions_a_requirement_allows_and_only_there() {
    let mut deployed = Deployed::default();
    deployed.deploy(library("artwork", "1.0.0", &[], true), true);
    deployed.deploy(library("artwork", "1.1.0", &[], true), true);
    deployed
        .pins
        .insert("artwork".into(), semver::Version::new(1, 0, 0));
    let loose = deployed.deploy(library("loose", "1.0.0", &[("artwork", "^1")], false), true);
    let strict = deployed.deploy(
        library("strict", "1.0.0", &[("artwork", "^1.1")], false),
        true,
    );
    let bound = |deployed: &Deployed, version: &PluginVersion| {
        deployed.resolution.bindings(version).expect("bound")[0]
            .module
            .identity
            .label
            .clone()
    };
    assert_eq!(bound(&deployed, &loose), "artwork@1.0.0");
    // The pin does not satisfy `^1.1`: that consumer keeps the highest that does.
    assert_eq!(bound(&deployed, &strict), "artwork@1.1.0");

    // Unpinned, the next resolution binds the highest again.
    deployed.pins.clear();
    deployed.deploy(library("other", "1.0.0", &[], false), true);
    assert_eq!(bound(&deployed, &loose), "artwork@1.1.0");
}

#[test]
fn binding_trees_fix_every_depth_per_resolution_and_pins_hold() {
    let mut deployed = Deployed::default();
    let old = deployed.deploy(library("artwork", "1.0.0", &[], true), true);
    let front = deployed.deploy(library("front", "1.0.0", &[("artwork", "^1")], true), true);
    let pinned = deployed.deploy(
        library("pinned-front", "1.0.0", &[("artwork", "=1.0.0")], true),
        true,
    );
    let adapter = deployed.deploy(
        library(
            "gallery",
            "1.0.0",
            &[("front", "^1"), ("pinned-front", "^1")],
            false,
        ),
        true,
    );
    let before = BindingSets::new(&deployed.resolution)
        .of(&adapter)
        .expect("bound");

    let new = deployed.deploy(library("artwork", "1.1.0", &[], true), true);
    let after = BindingSets::new(&deployed.resolution)
        .of(&adapter)
        .expect("bound");

    let table = |version: &PluginVersion| version.export.expect("exports").table();
    let second_level = |bound: &super::sets::Bound, first: usize| {
        bound
            .set
            .get(first)
            .expect("first level")
            .dependencies()
            .get(0)
            .expect("second level")
            .table()
    };
    // The tree of the earlier resolution still says 1.0.0 at the second level: what a
    // request that took it keeps for its whole life.
    assert_eq!(second_level(&before, 0), table(&old));
    assert_eq!(second_level(&after, 0), table(&new));
    // The exact pin holds at the second level in both.
    assert_eq!(second_level(&before, 1), table(&old));
    assert_eq!(second_level(&after, 1), table(&old));
    assert_eq!(after.set.get(0).expect("front").table(), table(&front));
    assert_eq!(after.set.get(1).expect("pinned").table(), table(&pinned));
    // A request counts in every module version of its tree, once each.
    let labels = |bound: &super::sets::Bound| {
        let mut labels: Vec<String> = bound
            .in_use
            .iter()
            .map(|v| v.identity.label.clone())
            .collect();
        labels.sort();
        labels
    };
    assert_eq!(
        labels(&before),
        ["artwork@1.0.0", "front@1.0.0", "pinned-front@1.0.0"]
    );
    assert_eq!(
        labels(&after),
        [
            "artwork@1.0.0",
            "artwork@1.1.0",
            "front@1.0.0",
            "pinned-front@1.0.0"
        ]
    );
}

#[test]
fn bindings_are_carried_over_while_no_module_changes() {
    let mut deployed = Deployed::default();
    deployed.deploy(library("artwork", "1.0.0", &[], true), true);
    let gallery = deployed.deploy(
        library("gallery", "1.0.0", &[("artwork", "^1")], false),
        true,
    );
    let bindings = |deployed: &Deployed| {
        deployed
            .resolution
            .bindings(&gallery)
            .expect("bound")
            .clone()
    };
    let fresh = |deployed: &Deployed| -> Vec<String> {
        deployed
            .resolution
            .fresh()
            .iter()
            .map(|version| version.identity.label.clone())
            .collect()
    };
    let before = bindings(&deployed);

    // Another adapter: no module changed, so only the newcomer is resolved.
    deployed.deploy(library("other", "1.0.0", &[("artwork", "^1")], false), true);
    assert!(deployed.resolution.carried());
    assert_eq!(fresh(&deployed), ["other@1.0.0"]);
    assert!(Arc::ptr_eq(&before, &bindings(&deployed)), "carried over");

    // A new module version: everything is resolved again, and the consumer moves.
    deployed.deploy(library("artwork", "1.1.0", &[], true), true);
    assert!(!deployed.resolution.carried());
    assert_eq!(fresh(&deployed).len(), 4);
    assert_eq!(
        bindings(&deployed)[0].module.identity.label,
        "artwork@1.1.0"
    );
}
