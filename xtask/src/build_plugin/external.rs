//! Plugins outside this workspace: a team's own crate, checked for what the host needs and
//! built with it, whatever that crate's own cargo configuration says.
//!
//! What a crate must be, each refused with what is missing: a package directory (not a
//! virtual workspace), a `cdylib`, a dependency on `frontdoor-plugin-api` that resolves to a
//! version compatible with this checkout's, and no `panic = "abort"` profile or rustflag.
//! What the command adds: the hot-loop alignment flag on x86-64 (the same flag this
//! workspace's `.cargo/config.toml` sets), `panic = "unwind"` over any config or environment
//! setting, and cargo's target directory of the crate itself (never this workspace's).

use std::{
    env, fs,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, bail};
use cargo_metadata::{Metadata, MetadataCommand, Package, PackageId, semver::Version};

use crate::{
    cargo::{self, Profile},
    rustc_wrapper,
    workspace::{SDK_PACKAGE, Sdk},
};

/// The code-alignment flags every plugin is built with on x86-64: a plugin carries its own
/// copy of serde_json and std, and its hot loops ran about 10 % slower than the host's copy
/// without them. This workspace's `.cargo/config.toml` sets the same (a unit test checks).
pub const ALIGNMENT_RUSTFLAGS: [&str; 2] = ["-C", "llvm-args=-align-loops=64"];

/// A crate outside this workspace that passed every check.
#[derive(Debug)]
pub struct ExternalPlugin {
    pub id: PackageId,
    pub name: String,
    /// `[package.metadata.frontdoor] name`, else the package's name.
    pub plugin_name: String,
    pub version: Version,
    pub manifest_path: PathBuf,
    /// The directory holding its `Cargo.toml`.
    pub dir: PathBuf,
}

/// Reads the crate in `dir` with cargo metadata and checks that it can be a plugin of this
/// host, whose SDK is `sdk`.
pub fn inspect(dir: &Path, sdk: &Sdk) -> anyhow::Result<ExternalPlugin> {
    let manifest_path = dir.join("Cargo.toml");
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    if !manifest_path.is_file() {
        bail!(
            "{} is not a package directory: it has no Cargo.toml (scaffold one with `cargo xtask new-plugin NAME --dir {}`)",
            dir.display(),
            dir.display()
        );
    }
    check_not_virtual(&manifest_path)?;
    let metadata = MetadataCommand::new()
        .cargo_path(cargo::program())
        .manifest_path(&manifest_path)
        .current_dir(dir)
        .exec()
        .with_context(|| {
            format!(
                "cannot read {} with cargo metadata",
                manifest_path.display()
            )
        })?;
    let package = root_package(&metadata, &manifest_path)?;
    check_cdylib(package)?;
    check_sdk(&metadata, package, sdk)?;
    let workspace_manifest = Path::new(metadata.workspace_root.as_std_path()).join("Cargo.toml");
    check_panic_strategy(&workspace_manifest, &manifest_path)?;
    check_rustflags()?;
    let plugin_name = package.metadata["frontdoor"]["name"]
        .as_str()
        .map_or_else(|| package.name.to_string(), str::to_owned);
    Ok(ExternalPlugin {
        id: package.id.clone(),
        name: package.name.to_string(),
        plugin_name,
        version: package.version.clone(),
        manifest_path,
        dir: dir.to_owned(),
    })
}

/// `cargo build` of `plugin` with what the host needs. Returns the path of the built `.so`.
pub fn build(plugin: &ExternalPlugin, profile: Profile) -> anyhow::Result<PathBuf> {
    build_crate(&CrateBuild {
        cwd: &plugin.dir,
        manifest_path: &plugin.manifest_path,
        package: &plugin.name,
        package_id: &plugin.id,
        profile,
        outside_workspace: true,
        version: None,
    })
}

/// One plugin crate for cargo to build, inside this workspace or not.
#[derive(Debug)]
pub struct CrateBuild<'a> {
    /// Where cargo runs: its config files are found from there.
    pub cwd: &'a Path,
    pub manifest_path: &'a Path,
    pub package: &'a str,
    pub package_id: &'a PackageId,
    pub profile: Profile,
    /// Outside this workspace: add the alignment flags (inside, its config has them).
    pub outside_workspace: bool,
    /// The dev loop's version, compiled in through the rustc wrapper.
    pub version: Option<&'a Version>,
}

/// Builds the library of one crate and returns the path of its `.so`.
pub fn build_crate(spec: &CrateBuild<'_>) -> anyhow::Result<PathBuf> {
    let subcommand = if spec.version.is_some() {
        "rustc"
    } else {
        "build"
    };
    let mut command = cargo::cargo_command(spec.cwd, subcommand);
    command
        .arg("--manifest-path")
        .arg(spec.manifest_path)
        .args(["--package", spec.package, "--lib"]);
    spec.profile.select(&mut command);
    let profile_name = spec.profile.name();
    // Overrides a config file's or CARGO_PROFILE_*'s panic setting; a manifest that asks
    // for abort was refused by `inspect`, so this never changes what the author wrote.
    command.args([
        "--config",
        &format!("profile.{profile_name}.panic=\"unwind\""),
    ]);
    if spec.outside_workspace {
        add_alignment(&mut command);
    }
    if let Some(version) = spec.version {
        let wrapper = env::current_exe().context("cannot find the xtask executable")?;
        command
            .env("RUSTC_WORKSPACE_WRAPPER", wrapper)
            .env(rustc_wrapper::ENV, "1")
            .arg("--message-format=json-render-diagnostics")
            .arg("--")
            .args(rustc_wrapper::rustc_args(version));
    }
    let what = format!("cargo {subcommand} of {}", spec.manifest_path.display());
    let artifacts = if spec.version.is_some() {
        cargo::artifacts_with_format_given(command, &what)?
    } else {
        cargo::artifacts(command, &what)?
    };
    artifacts
        .iter()
        .filter(|artifact| artifact.package_id == *spec.package_id && artifact.target.is_cdylib())
        .flat_map(|artifact| &artifact.filenames)
        .find(|file| file.extension() == Some("so"))
        .map(|file| file.clone().into_std_path_buf())
        .with_context(|| format!("cargo reported no .so file for `{}`", spec.package))
}

/// Adds [`ALIGNMENT_RUSTFLAGS`] on x86-64 where cargo will take them: appended to
/// `RUSTFLAGS` when the environment sets rustflags (which then replace every config
/// source), else as `target.'cfg(target_arch = "x86_64")'.rustflags`, which cargo joins
/// with the crate's own `[target.*] rustflags` (and which replaces `build.rustflags`).
fn add_alignment(command: &mut std::process::Command) {
    if !cfg!(target_arch = "x86_64") {
        return;
    }
    if let Some(encoded) = env::var_os("CARGO_ENCODED_RUSTFLAGS") {
        let mut flags = encoded.to_string_lossy().into_owned();
        for flag in ALIGNMENT_RUSTFLAGS {
            if !flags.is_empty() {
                flags.push('\u{1f}');
            }
            flags.push_str(flag);
        }
        command.env("CARGO_ENCODED_RUSTFLAGS", flags);
    } else if let Some(plain) = env::var_os("RUSTFLAGS") {
        let flags = format!(
            "{} {}",
            plain.to_string_lossy(),
            ALIGNMENT_RUSTFLAGS.join(" ")
        );
        command.env("RUSTFLAGS", flags.trim_start());
    } else {
        let list = ALIGNMENT_RUSTFLAGS
            .iter()
            .map(|flag| format!("\"{flag}\""))
            .collect::<Vec<_>>()
            .join(", ");
        command.args([
            "--config",
            &format!("target.'cfg(target_arch = \"x86_64\")'.rustflags = [{list}]"),
        ]);
    }
}

fn root_package<'m>(metadata: &'m Metadata, manifest_path: &Path) -> anyhow::Result<&'m Package> {
    let wanted = manifest_path
        .canonicalize()
        .unwrap_or_else(|_| manifest_path.to_owned());
    metadata
        .packages
        .iter()
        .find(|package| {
            package
                .manifest_path
                .as_std_path()
                .canonicalize()
                .is_ok_and(|path| path == wanted)
        })
        .with_context(|| {
            let members: Vec<String> = metadata
                .workspace_packages()
                .iter()
                .map(|package| package.name.to_string())
                .collect();
            format!(
                "{} is a workspace, not a package; pass the directory of one of its members ({})",
                manifest_path.display(),
                members.join(", ")
            )
        })
}

/// A manifest without `[package]` (a virtual workspace) names no crate to build.
fn check_not_virtual(manifest_path: &Path) -> anyhow::Result<()> {
    let text = fs::read_to_string(manifest_path)
        .with_context(|| format!("cannot read {}", manifest_path.display()))?;
    let manifest: toml::Table = text
        .parse()
        .with_context(|| format!("cannot parse {}", manifest_path.display()))?;
    if manifest.contains_key("package") {
        return Ok(());
    }
    let members: Vec<&str> = manifest
        .get("workspace")
        .and_then(|workspace| workspace.get("members"))
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(toml::Value::as_str)
        .collect();
    if manifest.contains_key("workspace") {
        bail!(
            "{} is a workspace, not a package; pass the directory of one of its members ({})",
            manifest_path.display(),
            if members.is_empty() {
                "it lists none".to_owned()
            } else {
                members.join(", ")
            }
        );
    }
    bail!("{} has no [package] section", manifest_path.display())
}

fn check_cdylib(package: &Package) -> anyhow::Result<()> {
    let lib = package
        .targets
        .iter()
        .find(|target| target.is_lib() || target.is_cdylib());
    match lib {
        Some(target) if target.is_cdylib() => Ok(()),
        Some(_) => bail!(
            "`{}` is not a cdylib: the host loads plugins as shared libraries; add `crate-type = [\"cdylib\", \"rlib\"]` under [lib] in {}",
            package.name,
            package.manifest_path
        ),
        None => bail!(
            "`{}` has no library target (src/lib.rs): a plugin is a cdylib library, declared with export_adapter! or export_shared_module!",
            package.name
        ),
    }
}

/// The crate must depend on `frontdoor-plugin-api` directly, resolved to a version of the
/// same compatibility class as this checkout's (caret rules: same major, or same minor
/// below 1.0).
fn check_sdk(metadata: &Metadata, package: &Package, sdk: &Sdk) -> anyhow::Result<()> {
    let resolve = metadata
        .resolve
        .as_ref()
        .context("cargo metadata returned no dependency graph")?;
    let node = resolve
        .nodes
        .iter()
        .find(|node| node.id == package.id)
        .context("cargo metadata has no node for the package")?;
    let sdk_dependency = node
        .deps
        .iter()
        .filter_map(|dep| metadata.packages.iter().find(|p| p.id == dep.pkg))
        .find(|dep| dep.name.as_str() == SDK_PACKAGE);
    let Some(resolved) = sdk_dependency else {
        bail!(
            "`{}` does not depend on {SDK_PACKAGE}: add `{SDK_PACKAGE} = {{ path = \"{}\" }}` under [dependencies] (or a git dependency on this repository)",
            package.name,
            sdk.dir.display()
        );
    };
    if !compatible(&resolved.version, &sdk.version) {
        bail!(
            "`{}` resolves {SDK_PACKAGE} {} but this host's SDK is {}: the host would refuse it; depend on this checkout's plugin-api ({}) or the matching release",
            package.name,
            resolved.version,
            sdk.version,
            sdk.dir.display()
        );
    }
    Ok(())
}

/// Same caret class: equal major, and for 0.x equal minor (and for 0.0.x equal patch).
pub fn compatible(a: &Version, b: &Version) -> bool {
    match (a.major, b.major) {
        (0, 0) if a.minor == 0 && b.minor == 0 => a.patch == b.patch,
        (0, 0) => a.minor == b.minor,
        (x, y) => x == y,
    }
}

/// A `panic = "abort"` in the release or dev profile of the crate's workspace manifest (or
/// of its own, when it is the root) makes every panic end the host: refused.
fn check_panic_strategy(workspace_manifest: &Path, package_manifest: &Path) -> anyhow::Result<()> {
    let text = fs::read_to_string(workspace_manifest)
        .with_context(|| format!("cannot read {}", workspace_manifest.display()))?;
    let manifest: toml::Table = text
        .parse()
        .with_context(|| format!("cannot parse {}", workspace_manifest.display()))?;
    for profile in ["release", "dev"] {
        if manifest
            .get("profile")
            .and_then(|profiles| profiles.get(profile))
            .and_then(|settings| settings.get("panic"))
            .and_then(toml::Value::as_str)
            == Some("abort")
        {
            bail!(
                "profile.{profile} sets panic = \"abort\" in {}: the host refuses plugins built that way (their first panic would end the host instead of one request); remove it for {}",
                workspace_manifest.display(),
                package_manifest.display()
            );
        }
    }
    Ok(())
}

/// `-C panic=abort` in the environment's rustflags is refused for the same reason.
fn check_rustflags() -> anyhow::Result<()> {
    for variable in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"] {
        if let Some(flags) = env::var_os(variable)
            && flags
                .to_string_lossy()
                .replace(['\u{1f}', ' '], "")
                .contains("panic=abort")
        {
            bail!(
                "{variable} asks for panic=abort: the host refuses plugins built that way; unset it"
            );
        }
    }
    Ok(())
}
