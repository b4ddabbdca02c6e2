//! `cargo xtask build-plugin`: build plugin cdylibs and install each one into the plugins
//! directory as `{name}-{version}.so`, atomically, so the watching host never sees half a file.
//!
//! A plugin is a member of this workspace (by package name or directory) or any crate
//! directory outside it (`external`), built with what the host needs. Every artifact ships
//! without its debug info, which goes beside it into `.debug/` (`debuginfo`).

mod debuginfo;
pub mod external;
pub mod install;

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
    /// Plugins to build: package names (`bench`), their directories (`plugins/bench`), or the
    /// directory of any crate outside this workspace (`.`, `/src/team/kids`).
    #[arg(
        value_name = "PATH-OR-PACKAGE",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    plugins: Vec<String>,
    /// Build every plugin under plugins/ and shared-modules/ except drafts
    /// (`[package.metadata.frontdoor] draft = true`).
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
    /// `None` for a crate outside the workspace, whose kind only its manifest says.
    pub kind: Option<PluginKind>,
    pub path: PathBuf,
    pub bytes: u64,
    /// The split-off debug info and its size, unless objcopy was missing.
    pub debug: Option<(PathBuf, u64)>,
}

/// A plugin named on the command line.
enum Target<'w> {
    Member(&'w Package),
    /// The directory of a crate that is not a member of this workspace.
    External(PathBuf),
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let workspace = Workspace::load()?;
    let mut members = Vec::new();
    let mut externals = Vec::new();
    if args.all {
        members = workspace.plugins();
        let drafts: Vec<&str> = workspace
            .drafts()
            .iter()
            .map(|draft| draft.name.as_str())
            .collect();
        if !drafts.is_empty() {
            eprintln!(
                "xtask: skipping drafts (`draft = true` in their Cargo.toml): {}",
                drafts.join(", ")
            );
        }
    } else {
        for arg in &args.plugins {
            match resolve(&workspace, arg)? {
                Target::Member(package) => members.push(package),
                Target::External(dir) => externals.push(dir),
            }
        }
    }
    let out = match &args.out {
        Some(dir) => std::path::absolute(dir)
            .with_context(|| format!("invalid output directory {}", dir.display()))?,
        None => default_out_dir(&workspace),
    };
    let profile = if args.debug {
        Profile::Dev
    } else {
        Profile::Plugin
    };
    if args.all || !members.is_empty() {
        for installed in build(&workspace, &members, profile, &out)? {
            println!("{installed}");
        }
    }
    for dir in externals {
        println!("{}", build_external(&workspace, &dir, profile, &out)?);
    }
    Ok(())
}

/// Builds the one plugin `arg` names, as `build-plugin PATH-OR-PACKAGE` would, into `out`.
pub fn build_one(
    workspace: &Workspace,
    arg: &str,
    profile: Profile,
    out: &Path,
) -> anyhow::Result<Installed> {
    match resolve(workspace, arg)? {
        Target::Member(package) => build(workspace, &[package], profile, out)?
            .pop()
            .with_context(|| format!("building `{arg}` installed no artifact")),
        Target::External(dir) => build_external(workspace, &dir, profile, out),
    }
}

/// Checks, builds and installs the crate in `dir`, outside this workspace.
fn build_external(
    workspace: &Workspace,
    dir: &Path,
    profile: Profile,
    out: &Path,
) -> anyhow::Result<Installed> {
    let plugin = external::inspect(dir, &workspace.sdk)?;
    let library = external::build(&plugin, profile)?;
    install(&library, &plugin.plugin_name, &plugin.version, None, out)
        .with_context(|| format!("cannot install plugin `{}`", plugin.name))
}

/// A workspace plugin, or else an existing directory that is no workspace member.
fn resolve<'w>(workspace: &'w Workspace, arg: &str) -> anyhow::Result<Target<'w>> {
    let error = match workspace.find_plugin(arg) {
        Ok(package) => return Ok(Target::Member(package)),
        Err(error) => error,
    };
    let cwd = env::current_dir().context("cannot read the current directory")?;
    match cwd.join(arg).canonicalize() {
        Ok(dir) if dir.is_dir() && workspace.member_at(&dir).is_none() => Ok(Target::External(dir)),
        _ => Err(error),
    }
}

/// Installs `library` into `out` as `{plugin_name}-{version}.so`, its debug info split off
/// into `out/.debug/` first (hidden: the host ignores it).
pub fn install(
    library: &Path,
    plugin_name: &str,
    version: &Version,
    kind: Option<PluginKind>,
    out: &Path,
) -> anyhow::Result<Installed> {
    let file_name = format!("{plugin_name}-{version}.so");
    let work_dir = library
        .parent()
        .map_or_else(|| PathBuf::from("."), |dir| dir.join("frontdoor-split"));
    let (shipped, debug) = match debuginfo::split(library, &work_dir, &file_name)? {
        Some(split) => {
            let debug_name = format!("{file_name}.debug");
            let debug = install::atomically(&split.debug, &out.join(".debug"), &debug_name)?;
            (split.stripped, Some(debug))
        }
        None => {
            eprintln!("xtask: objcopy not found (binutils): {file_name} keeps its debug info");
            (library.to_owned(), None)
        }
    };
    let (path, bytes) = install::atomically(&shipped, out, &file_name)?;
    Ok(Installed {
        name: plugin_name.to_owned(),
        version: version.clone(),
        kind,
        path,
        bytes,
        debug,
    })
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
        installed.push(
            install(
                library.as_std_path(),
                &plugin.plugin_name,
                &plugin.version,
                plugin.plugin,
                out,
            )
            .with_context(|| format!("cannot install plugin `{}`", plugin.name))?,
        );
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
        )?;
        if let Some((path, bytes)) = &self.debug {
            write!(
                f,
                "; debug info {} ({})",
                relative_to_cwd(path).display(),
                human_size(*bytes)
            )?;
        }
        Ok(())
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
