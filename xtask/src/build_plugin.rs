//! `cargo xtask build-plugin`: build plugin cdylibs and install each one into the plugins
//! directory as `{name}-{version}.so`, atomically, so the watching host never sees half a file.

mod install;

use std::{
    collections::HashSet,
    env, fmt,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, bail};
use cargo_metadata::semver::Version;

use crate::{
    cargo::{self, Profile},
    workspace::{Package, PluginKind, Workspace},
};

/// Build plugin cdylibs and install them atomically into the plugins directory.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Plugins to build: package names (`bench`) or their directories (`plugins/bench`).
    #[arg(
        value_name = "PATH-OR-PACKAGE",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    plugins: Vec<String>,
    /// Build every plugin under plugins/ and shared-modules/.
    #[arg(long)]
    all: bool,
    /// Directory to write the artifacts to [default: <workspace>/plugins.d].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Build with the dev profile instead of --release.
    #[arg(long)]
    debug: bool,
}

/// One artifact written into the output directory.
#[derive(Debug)]
pub struct Installed {
    pub name: String,
    pub version: Version,
    pub kind: PluginKind,
    pub path: PathBuf,
    pub bytes: u64,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let workspace = Workspace::load()?;
    let plugins = if args.all {
        workspace.plugins()
    } else {
        args.plugins
            .iter()
            .map(|arg| workspace.find_plugin(arg))
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let out = match &args.out {
        Some(dir) => std::path::absolute(dir)
            .with_context(|| format!("invalid output directory {}", dir.display()))?,
        None => default_out_dir(&workspace),
    };
    let profile = if args.debug {
        Profile::Dev
    } else {
        Profile::Release
    };
    for installed in build(&workspace, &plugins, profile, &out)? {
        println!("{installed}");
    }
    Ok(())
}

/// The directory the host watches by default: `<workspace>/plugins.d`.
pub fn default_out_dir(workspace: &Workspace) -> PathBuf {
    workspace.root.join("plugins.d")
}

/// Builds `plugins` with one cargo run and installs each cdylib into `out` (created if
/// missing) as `{name}-{version}.so`.
pub fn build(
    workspace: &Workspace,
    plugins: &[&Package],
    profile: Profile,
    out: &Path,
) -> anyhow::Result<Vec<Installed>> {
    let mut seen = HashSet::new();
    let plugins: Vec<&Package> = plugins
        .iter()
        .copied()
        .filter(|plugin| seen.insert(&plugin.id))
        .collect();
    if plugins.is_empty() {
        bail!("no plugins to build: plugins are cdylib packages under plugins/ or shared-modules/");
    }
    let names: Vec<&str> = plugins.iter().map(|plugin| plugin.name.as_str()).collect();
    let artifacts = cargo::build(&workspace.root, &names, profile)?;

    let mut installed = Vec::with_capacity(plugins.len());
    for plugin in plugins {
        let library = artifacts
            .iter()
            .filter(|artifact| artifact.package_id == plugin.id && artifact.target.is_cdylib())
            .flat_map(|artifact| &artifact.filenames)
            .find(|file| file.extension() == Some("so"))
            .with_context(|| {
                format!(
                    "cargo build reported no .so file for plugin `{}`",
                    plugin.name
                )
            })?;
        // The plugin's name, which may differ from the package's (several releases of one
        // shared module live in the workspace as differently named packages).
        let file_name = format!("{}-{}.so", plugin.plugin_name, plugin.version);
        let (path, bytes) = install::atomically(library.as_std_path(), out, &file_name)
            .with_context(|| format!("cannot install plugin `{}`", plugin.name))?;
        installed.push(Installed {
            name: plugin.plugin_name.clone(),
            version: plugin.version.clone(),
            // `Workspace::plugins` and `find_plugin` only hand out plugins.
            kind: plugin.plugin.unwrap_or(PluginKind::Adapter),
            path,
            bytes,
        });
    }
    Ok(installed)
}

impl fmt::Display for Installed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "built {} {} -> {} ({})",
            self.name,
            self.version,
            relative_to_cwd(&self.path).display(),
            human_size(self.bytes)
        )
    }
}

/// `path` as seen from the current directory when it lies below it, else unchanged.
pub fn relative_to_cwd(path: &Path) -> &Path {
    env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path)
}

/// `15.5 MB`, `812.0 kB`, `512 B`, in decimal units.
fn human_size(bytes: u64) -> String {
    // Precision loss above 2^53 bytes does not matter for one decimal.
    let value = bytes as f64;
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} kB", value / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", value / 1e6),
        _ => format!("{:.1} GB", value / 1e9),
    }
}

#[cfg(test)]
mod tests;
