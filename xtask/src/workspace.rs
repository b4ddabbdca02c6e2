//! The cargo workspace as xtask sees it: its root, its target directory and its plugins.

use std::{
    env,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, bail};
use cargo_metadata::{MetadataCommand, PackageId, semver::Version};

/// Directories (relative to the workspace root) whose cdylib packages are plugins.
const PLUGIN_DIRS: [(&str, PluginKind); 2] = [
    ("plugins", PluginKind::Adapter),
    ("shared-modules", PluginKind::SharedModule),
];

/// What `cargo metadata` says about the workspace.
#[derive(Debug)]
pub struct Workspace {
    pub root: PathBuf,
    /// Cargo's target directory (`<root>/target` unless configured otherwise).
    pub target_dir: PathBuf,
    /// This checkout's SDK, the `frontdoor-plugin-api` package.
    pub sdk: Sdk,
    packages: Vec<Package>,
}

/// The `frontdoor-plugin-api` package of this checkout: what plugins are built against.
#[derive(Debug, Clone)]
pub struct Sdk {
    /// The directory holding its `Cargo.toml`.
    pub dir: PathBuf,
    pub version: Version,
    /// Whether it has a `testkit` feature (for the scaffold's dev-dependency).
    pub has_testkit: bool,
}

/// The SDK's package name.
pub const SDK_PACKAGE: &str = "frontdoor-plugin-api";

/// One workspace package.
#[derive(Debug, Clone)]
pub struct Package {
    pub id: PackageId,
    pub name: String,
    /// The plugin's name: `[package.metadata.frontdoor] name`, else the package's name.
    /// It names the artifact, and must match the name the plugin's manifest declares.
    pub plugin_name: String,
    pub version: Version,
    /// The directory holding its `Cargo.toml`.
    pub dir: PathBuf,
    /// `Some` when the package is a plugin.
    pub plugin: Option<PluginKind>,
    /// `[package.metadata.frontdoor] draft = true`: a plugin in progress, left out of
    /// [`Workspace::plugins`] (`build-plugin --all`, `demo`) but buildable by name.
    pub draft: bool,
}

/// Where a plugin lives, which says what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    /// A cdylib under `plugins/`: serves requests under `/{name}/`.
    Adapter,
    /// A cdylib under `shared-modules/`: serves adapters, not devices.
    SharedModule,
}

impl Workspace {
    /// Reads the workspace this xtask belongs to, wherever it is run from.
    pub fn load() -> anyhow::Result<Self> {
        // Run from the workspace, so that its cargo configuration applies and not that of
        // the directory xtask was started in (a team's crate, with its own target-dir).
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let metadata = MetadataCommand::new()
            .manifest_path(manifest_dir.join("Cargo.toml"))
            .current_dir(manifest_dir)
            .no_deps()
            .exec()
            .context("cannot read the workspace with cargo metadata")?;
        let root = PathBuf::from(metadata.workspace_root.clone());
        let target_dir = PathBuf::from(metadata.target_directory.clone());
        let sdk = metadata
            .workspace_packages()
            .into_iter()
            .find(|package| package.name.as_str() == SDK_PACKAGE)
            .map(|package| Sdk {
                dir: package.manifest_path.parent().map_or_else(
                    || root.join("plugin-api"),
                    |dir| dir.as_std_path().to_owned(),
                ),
                version: package.version.clone(),
                has_testkit: package.features.contains_key("testkit"),
            })
            .with_context(|| format!("this workspace has no {SDK_PACKAGE} package"))?;
        let packages = metadata
            .workspace_packages()
            .into_iter()
            .map(|package| {
                let dir = package
                    .manifest_path
                    .parent()
                    .map_or_else(|| root.clone(), |dir| PathBuf::from(dir.as_std_path()));
                let has_cdylib = package.targets.iter().any(|target| target.is_cdylib());
                let plugin_name = package.metadata["frontdoor"]["name"]
                    .as_str()
                    .map_or_else(|| package.name.to_string(), str::to_owned);
                Package {
                    id: package.id.clone(),
                    name: package.name.to_string(),
                    plugin_name,
                    version: package.version.clone(),
                    plugin: plugin_kind(&root, &dir).filter(|_| has_cdylib),
                    draft: package.metadata["frontdoor"]["draft"].as_bool() == Some(true),
                    dir,
                }
            })
            .collect();
        Ok(Self {
            root,
            target_dir,
            sdk,
            packages,
        })
    }

    /// Every plugin that is not a draft, in name order: what `build-plugin --all` and the
    /// demo build.
    pub fn plugins(&self) -> Vec<&Package> {
        let mut plugins: Vec<&Package> = self
            .packages
            .iter()
            .filter(|package| package.plugin.is_some() && !package.draft)
            .collect();
        plugins.sort_by(|a, b| a.name.cmp(&b.name));
        plugins
    }

    /// The plugins marked `draft = true`, in name order.
    pub fn drafts(&self) -> Vec<&Package> {
        let mut drafts: Vec<&Package> = self
            .packages
            .iter()
            .filter(|package| package.plugin.is_some() && package.draft)
            .collect();
        drafts.sort_by(|a, b| a.name.cmp(&b.name));
        drafts
    }

    /// The names of every workspace package.
    pub fn package_names(&self) -> Vec<&str> {
        self.packages
            .iter()
            .map(|package| package.name.as_str())
            .collect()
    }

    /// The plugin named by `arg`: a package name (`bench`) or its directory
    /// (`plugins/bench`, `./plugins/bench/`, an absolute path).
    pub fn find_plugin(&self, arg: &str) -> anyhow::Result<&Package> {
        let package = match self.packages.iter().find(|package| package.name == arg) {
            Some(package) if !looks_like_path(arg) => package,
            _ => self.find_by_dir(arg)?,
        };
        if package.plugin.is_none() {
            bail!(
                "package `{}` is not a plugin: plugins are cdylib packages under plugins/ or shared-modules/",
                package.name
            );
        }
        Ok(package)
    }

    /// The workspace package whose directory is `dir` (canonical), if any.
    pub fn member_at(&self, dir: &Path) -> Option<&Package> {
        self.packages.iter().find(|package| {
            package
                .dir
                .canonicalize()
                .is_ok_and(|package_dir| package_dir == dir)
        })
    }

    fn find_by_dir(&self, arg: &str) -> anyhow::Result<&Package> {
        let cwd = env::current_dir().context("cannot read the current directory")?;
        // Relative to where the user stands first, then to the workspace root.
        let dir = [cwd.join(arg), self.root.join(arg)]
            .iter()
            .find_map(|candidate| candidate.canonicalize().ok())
            .with_context(|| {
                let names: Vec<&str> = self.plugins().iter().map(|plugin| plugin.name.as_str()).collect();
                format!(
                    "`{arg}` is neither a workspace package name nor an existing directory (plugins: {})",
                    names.join(", ")
                )
            })?;
        self.packages
            .iter()
            .find(|package| {
                package
                    .dir
                    .canonicalize()
                    .is_ok_and(|package_dir| package_dir == dir)
            })
            .with_context(|| {
                format!(
                    "{} is not the directory of a workspace package",
                    dir.display()
                )
            })
    }
}

fn plugin_kind(root: &Path, dir: &Path) -> Option<PluginKind> {
    let relative = dir.strip_prefix(root).ok()?;
    PLUGIN_DIRS
        .iter()
        .find(|(parent, _)| relative.starts_with(parent) && relative != Path::new(parent))
        .map(|&(_, kind)| kind)
}

fn looks_like_path(arg: &str) -> bool {
    arg.contains(std::path::MAIN_SEPARATOR) || arg.starts_with('.')
}

#[cfg(test)]
mod tests;
