//! What the benchmark runs: the release host, two release builds of the `bench` adapter that
//! differ only in version (R1 swaps them), copied out of cargo's target directory and also
//! stripped of debug info as `cargo xtask build-plugin` ships them, and the sample backends
//! (W3's backend).

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, ensure};
use cargo_metadata::{Artifact, semver::Version};
use serde::Serialize;

use crate::{
    cargo::{self, Profile},
    host, sample_backends,
    workspace::Workspace,
};

/// The adapter package the workloads are served by.
pub const BENCH_PACKAGE: &str = "bench";
/// Read by `plugins/bench` at build time: the version in its manifest.
const VERSION_VAR: &str = "FRONTDOOR_BENCH_VERSION";

/// The built programs.
#[derive(Debug, Serialize)]
pub struct Artifacts {
    pub frontdoor: PathBuf,
    /// The adapter as its crate declares it.
    pub base: BenchBuild,
    /// The same code with the patch version one higher.
    pub alternate: BenchBuild,
    pub sample_backends: PathBuf,
}

/// One build of the bench adapter, copied to a file of its own.
#[derive(Debug, Serialize)]
pub struct BenchBuild {
    pub version: Version,
    /// With line tables, so the W1 profile resolves the adapter's symbols.
    pub library: PathBuf,
    /// Without debug info, as `cargo xtask build-plugin` ships it (it splits the debug info
    /// off): what a deploy copies, what the swapping runs (R1, recycle) drop in.
    pub shipped: PathBuf,
}

/// Builds the host, both adapter builds and the sample backends in release; the adapter
/// libraries are copied into `builds_dir`.
pub fn build(workspace: &Workspace, builds_dir: &Path) -> anyhow::Result<Artifacts> {
    let frontdoor = host::build(workspace)?;
    let sample_backends = sample_backends::build(workspace)?;
    let package = workspace.find_plugin(BENCH_PACKAGE)?;
    let base_version = package.version.clone();
    let alternate_version = Version::new(
        base_version.major,
        base_version.minor,
        base_version.patch + 1,
    );
    let alternate_name = alternate_version.to_string();
    // The alternate first, so cargo's target directory ends with the ordinary build that
    // `cargo xtask demo` and the tests expect (no rebuild for them).
    let alternate = build_bench(
        workspace,
        (VERSION_VAR, Some(&alternate_name)),
        alternate_version,
        builds_dir,
    )?;
    let base = build_bench(workspace, (VERSION_VAR, None), base_version, builds_dir)?;
    let identical = fs::read(&base.library)
        .and_then(|base| fs::read(&alternate.library).map(|alternate| base == alternate))
        .context("cannot compare the two bench builds")?;
    ensure!(
        !identical,
        "the builds of bench with {VERSION_VAR}={} and without it are identical: cargo did not rebuild it",
        alternate.version
    );
    Ok(Artifacts {
        frontdoor,
        base,
        alternate,
        sample_backends,
    })
}

fn build_bench(
    workspace: &Workspace,
    env: cargo::EnvVar<'_>,
    version: Version,
    builds_dir: &Path,
) -> anyhow::Result<BenchBuild> {
    let artifacts =
        cargo::build_with_env(&workspace.root, &[BENCH_PACKAGE], Profile::Plugin, &[env])?;
    let library = copy_library(
        &artifacts,
        BENCH_PACKAGE,
        builds_dir,
        &format!("{BENCH_PACKAGE}-{version}.so"),
    )?;
    let shipped = builds_dir.join(format!("{BENCH_PACKAGE}-{version}.shipped.so"));
    strip_debug(&library, &shipped)?;
    Ok(BenchBuild {
        version,
        library,
        shipped,
    })
}

/// Writes `library` without its debug information to `out` (the same file when they are
/// equal), with binutils' `strip --strip-debug`.
pub fn strip_debug(library: &Path, out: &Path) -> anyhow::Result<()> {
    let status = Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(out)
        .arg(library)
        .status()
        .context("cannot run strip (binutils)")?;
    ensure!(
        status.success(),
        "strip --strip-debug {} failed",
        library.display()
    );
    Ok(())
}

/// Copies the `.so` that cargo reported for the cdylib target `target` among `artifacts`
/// into `builds_dir` as `file_name` (out of cargo's target directory, which the next build
/// overwrites); its new path.
pub fn copy_library(
    artifacts: &[Artifact],
    target: &str,
    builds_dir: &Path,
    file_name: &str,
) -> anyhow::Result<PathBuf> {
    let built = artifacts
        .iter()
        .filter(|artifact| artifact.target.name == target && artifact.target.is_cdylib())
        .flat_map(|artifact| &artifact.filenames)
        .find(|file| file.extension() == Some("so"))
        .with_context(|| format!("cargo build reported no .so file for {target}"))?;
    fs::create_dir_all(builds_dir)
        .with_context(|| format!("cannot create {}", builds_dir.display()))?;
    let library = builds_dir.join(file_name);
    fs::copy(built, &library)
        .with_context(|| format!("cannot copy {built} to {}", library.display()))?;
    Ok(library)
}
