//! A real registry for the registry's unit tests: a loader without the load probe, its
//! copies and state under a scratch directory.

use std::sync::Arc;

use crate::{
    containment::ContainmentConfig,
    loader::{ArtifactsConfig, Loader, LoaderConfig},
    registry::{Registry, RegistryConfig},
};

/// A registry whose loader keeps its copies and state under `root`.
pub fn registry(root: &std::path::Path) -> Registry {
    let loader = Loader::new(LoaderConfig {
        artifacts: ArtifactsConfig {
            probe: false,
            ..ArtifactsConfig::default()
        },
        copies_parent: root.join("copies"),
        state_dir: root.join("state"),
    })
    .expect("a loader");
    Registry::new(RegistryConfig {
        loader: Arc::new(loader),
        retired_limit: 10,
        containment: ContainmentConfig::default(),
        notices: None,
        warmup: None,
    })
}
