//! The cost of a shared-module call: the host's `module_call` benchmark
//! (`host/benches/module_call.rs`: `artwork`'s `boxart_url` across the ABI against the same
//! body compiled into the caller), built with `cargo bench --no-run` and run by hand on the
//! host's core against a release build of the `artwork` module; its lines are captured.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context as _, ensure};
use serde::Serialize;

use super::artifacts::copy_library;
use crate::{
    cargo::{self, Profile},
    workspace::Workspace,
};

/// The shared module the benchmark calls.
const MODULE: &str = "artwork";
const HOST_PACKAGE: &str = "frontdoor";
const BENCH: &str = "module_call";

/// The benchmark, built, and the module it loads.
#[derive(Debug)]
pub struct Built {
    executable: PathBuf,
    /// A copy of the module's release build, named `artwork-VERSION.so`.
    module: PathBuf,
}

/// What the benchmark found.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum ModuleCall {
    Measured(Measured),
    Skipped { reason: String },
}

#[derive(Debug, Serialize)]
pub struct Measured {
    pub command: String,
    /// `artwork` through the ABI.
    pub module_ns_per_call: f64,
    /// The same body compiled into the caller.
    pub direct_ns_per_call: f64,
    /// As the benchmark prints it.
    pub ratio_module_over_direct: f64,
    /// Its output, line by line.
    pub output: Vec<String>,
}

/// The three figures of the benchmark's output.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Figures {
    module_ns: f64,
    direct_ns: f64,
    ratio: f64,
}

/// Builds `artwork` in release (copied to `builds_dir`) and the benchmark's executable.
pub fn build(workspace: &Workspace, builds_dir: &Path) -> anyhow::Result<Built> {
    let version = &workspace.find_plugin(MODULE)?.version;
    let artifacts = cargo::build(&workspace.root, &[MODULE], Profile::Plugin)?;
    // An absolute path: the benchmark is not run from the workspace root.
    let module = copy_library(
        &artifacts,
        MODULE,
        builds_dir,
        &format!("{MODULE}-{version}.so"),
    )?;
    crate::system_tools::ensure_protoc()?;
    let executable = cargo::build_bench(&workspace.root, HOST_PACKAGE, BENCH)?;
    Ok(Built { executable, module })
}

/// Runs the benchmark, on `core` if given, and reads its figures.
pub fn run(built: &Built, core: Option<usize>) -> anyhow::Result<Measured> {
    let mut line: Vec<String> = Vec::new();
    if let Some(core) = core {
        line.extend(["taskset".to_owned(), "-c".to_owned(), core.to_string()]);
    }
    line.push(built.executable.display().to_string());
    // What `cargo bench` passes; the benchmark ignores it.
    line.push("--bench".to_owned());
    line.push(built.module.display().to_string());
    let command = line.join(" ");
    eprintln!("shared-module call: {command}");
    let (program, args) = line.split_first().context("empty command line")?;
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{command}`"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "`{command}` failed ({}): {}{}",
        output.status,
        stdout.trim(),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let figures = parse(&stdout)
        .with_context(|| format!("cannot read the output of `{command}`:\n{stdout}"))?;
    Ok(Measured {
        command,
        module_ns_per_call: figures.module_ns,
        direct_ns_per_call: figures.direct_ns,
        ratio_module_over_direct: figures.ratio,
        output: stdout
            .lines()
            .map(str::trim_end)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// `shared-module call ...: X ns/call`, `... direct call: Y ns/call`,
/// `ratio module/direct: Z`.
fn parse(output: &str) -> anyhow::Result<Figures> {
    let (mut module_ns, mut direct_ns, mut ratio) = (None, None, None);
    for line in output.lines().map(str::trim) {
        let Some((label, value)) = line.rsplit_once(':') else {
            continue;
        };
        let value = value.trim();
        if label.starts_with("shared-module call") {
            module_ns = Some(ns_per_call(value)?);
        } else if label.ends_with("direct call") {
            direct_ns = Some(ns_per_call(value)?);
        } else if label.trim_end() == "ratio module/direct" {
            ratio = Some(number(value)?);
        }
    }
    Ok(Figures {
        module_ns: module_ns.context("no `shared-module call ...: X ns/call` line")?,
        direct_ns: direct_ns.context("no `... direct call: Y ns/call` line")?,
        ratio: ratio.context("no `ratio module/direct: Z` line")?,
    })
}

fn ns_per_call(text: &str) -> anyhow::Result<f64> {
    text.strip_suffix("ns/call")
        .with_context(|| format!("`{text}` is not in ns/call"))
        .and_then(|value| number(value.trim()))
}

fn number(text: &str) -> anyhow::Result<f64> {
    text.parse()
        .ok()
        .with_context(|| format!("`{text}` is not a number"))
}

#[cfg(test)]
mod tests;
