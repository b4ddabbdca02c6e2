//! Loads one artifact: vetted source, ELF check before copying, private copy, ELF check of
//! the copy, probe in a child process, durable marker, then `dlopen` with explicit flags,
//! abi_stable checks, manifest, init. This file holds the host's `unsafe` code for opening.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Instant,
};

use abi_stable::{
    library::{AbiHeaderRef, LibraryError, ROOT_MODULE_LOADER_NAME_WITH_NUL},
    sabi_trait::TD_Opaque,
    std_types::{RBox, RResult},
    type_layout::TypeLayout,
};
use frontdoor_plugin_api::{
    CheckedInterface, ModuleExport, PluginHostObj, PluginKind, PluginModuleRef,
};
use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
use serde::{Deserialize, Serialize};

use super::{
    LoadError, Loader, artifact,
    host_services::{HostServices, PluginIdentity},
    load_markers::ContentId,
    manifest_check::{self, ValidManifest},
    signed, source,
};

/// A plugin that passed every check and was initialised. Its code stays mapped for the life
/// of the process: there is deliberately no way to unload it.
pub struct LoadedLibrary {
    pub module: PluginModuleRef,
    /// A shared module's interface (layout and table); `None` for adapters.
    pub export: Option<ModuleExport>,
    pub manifest: ValidManifest,
    pub identity: Arc<PluginIdentity>,
    /// The private copy that was opened (removed once opened, unless `keep_copies`).
    pub mapped_copy: PathBuf,
    /// Size of the artifact, which is roughly what it costs in RSS once mapped.
    pub file_bytes: u64,
}

/// The steps of opening a library, in order; the probe reports each before it starts, so a
/// probe that dies is known to have died in that step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadStage {
    Starting,
    ElfCheck,
    Open,
    RootModule,
    Manifest,
    Init,
    Export,
}

/// What opening a library gives, before the registry admits it.
pub(super) struct OpenedPlugin {
    pub(super) module: PluginModuleRef,
    pub(super) export: Option<ModuleExport>,
    pub(super) manifest: ValidManifest,
    pub(super) identity: Arc<PluginIdentity>,
}

/// Loads the artifact at `source_path` the way `loader` is configured.
pub fn load_library(source_path: &Path, loader: &Loader) -> Result<LoadedLibrary, LoadError> {
    let started = Instant::now();
    let source = source::open(source_path, loader.artifacts())?;
    // Refused before a byte is copied: the checks read the headers only.
    artifact::check_elf(&source.file, source.len())?;
    let content = ContentId::of(&source.metadata);
    loader.markers().refuse_if_crashed(source_path, &content)?;
    let file_name = source_path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "artifact.so".into());
    let copy = loader.copies().copy(&source, &file_name)?;
    drop(source);
    // The private copy is what gets checked, probed and opened: nobody else writes it, so
    // the bytes the loader maps are exactly the bytes that passed the check.
    artifact::check_elf(&copy.file, copy.len)?;
    // Before the probe: code nobody vouched for is not run, not even in a child.
    let claim = match &loader.artifacts().trust {
        Some(trust) => Some(signed::verify_copy(
            trust,
            source_path,
            &copy.file,
            copy.len,
        )?),
        None => None,
    };
    let copied = started.elapsed();
    let probed = match loader.probe() {
        Some(probe) => Some(probe.run(&copy.path)?),
        None => None,
    };
    if let (Some(claim), Some(probed)) = (&claim, &probed) {
        signed::check_probed(claim, probed)?;
    }
    let probed_at = started.elapsed();
    copy.path_is_ours()?;
    // Durable before dlopen, removed after: a host that dies in between refuses this file
    // at its next start instead of dying again.
    let marker = loader
        .markers()
        .begin(source_path, content, probed.as_deref())?;
    let marked_at = started.elapsed();
    let opened = open_plugin(&copy.path, copy.len, loader.runtime(), &mut |_, _| {});
    drop(marker);
    let mapped = opened
        .as_ref()
        .map_or_else(|error| error.mapped_bytes().is_some(), |_| true);
    let mapped_copy = copy.path.clone();
    let file_bytes = copy.len;
    loader.copies().release(copy, mapped);
    let opened = opened?;
    if let Some(claim) = &claim {
        let manifest = &opened.manifest;
        signed::check_claim(claim, &manifest.name, &manifest.version, manifest.kind).map_err(
            |error| LoadError::LeftMapped {
                mapped_bytes: file_bytes,
                plugin: Some(format!("{}@{}", manifest.name, manifest.version)),
                error: Box::new(error),
            },
        )?;
    }
    // Reload latency is a product promise: keep where it goes visible at debug level.
    tracing::debug!(
        file = %source_path.display(),
        copy_us = copied.as_micros(),
        probe_us = (probed_at - copied).as_micros(),
        marker_us = (marked_at - probed_at).as_micros(),
        open_and_init_us = (started.elapsed() - marked_at).as_micros(),
        "artifact loaded"
    );
    Ok(LoadedLibrary {
        module: opened.module,
        export: opened.export,
        manifest: opened.manifest,
        identity: opened.identity,
        mapped_copy,
        file_bytes,
    })
}

/// Opens the library at `path` (`file_bytes` long, ELF-checked) and runs it through the
/// plugin's entry points: root module, manifest, init, export. `on_stage` hears of each
/// step before it starts, with the plugin's `name@version` once the manifest was read. Any
/// failure after `dlopen` leaves the library mapped. The plugin's host services reach timers
/// and I/O on `runtime` (`None` in the probe, which runs no handler).
pub(super) fn open_plugin(
    path: &Path,
    file_bytes: u64,
    runtime: Option<&tokio::runtime::Handle>,
    on_stage: &mut dyn FnMut(LoadStage, Option<&str>),
) -> Result<OpenedPlugin, LoadError> {
    on_stage(LoadStage::Open, None);
    let library = open_library(path)?;
    let left_mapped = |error: LoadError, plugin: Option<&str>| LoadError::LeftMapped {
        mapped_bytes: file_bytes,
        plugin: plugin.map(str::to_owned),
        error: Box::new(error),
    };
    on_stage(LoadStage::RootModule, None);
    let module = root_module(library).map_err(|error| left_mapped(error, None))?;
    on_stage(LoadStage::Manifest, None);
    let manifest = read_manifest(module).map_err(|error| left_mapped(error, None))?;
    let identity = Arc::new(PluginIdentity::new(&manifest.name, &manifest.version));
    let plugin = Some(identity.label.as_str());
    on_stage(LoadStage::Init, plugin);
    let services: PluginHostObj = PluginHostObj::from_ptr(
        RBox::new(HostServices::new(identity.clone(), runtime.cloned())),
        TD_Opaque,
    );
    if let RResult::RErr(message) = (module.init())(services) {
        return Err(left_mapped(
            LoadError::EntryPoint {
                entry: "init",
                message: message.into_string(),
            },
            plugin,
        ));
    }
    on_stage(LoadStage::Export, plugin);
    let export = match manifest.kind {
        PluginKind::SharedModule => Some((module.export())().into_option().ok_or_else(|| {
            left_mapped(
                LoadError::EntryPoint {
                    entry: "export",
                    message: "a shared module exported no interface".into(),
                },
                plugin,
            )
        })?),
        PluginKind::Adapter => None,
    };
    Ok(OpenedPlugin {
        module,
        export,
        manifest,
        identity,
    })
}

fn read_manifest(module: PluginModuleRef) -> Result<ValidManifest, LoadError> {
    let raw_manifest = match (module.manifest())() {
        RResult::ROk(manifest) => manifest,
        RResult::RErr(message) => {
            return Err(LoadError::EntryPoint {
                entry: "manifest",
                message: message.into_string(),
            });
        }
    };
    manifest_check::validate(&raw_manifest)
}

/// dlopens `path`. The handle is leaked on purpose: never dlclose (see below).
fn open_library(path: &Path) -> Result<&'static Library, LoadError> {
    let path_str = path
        .to_str()
        .ok_or_else(|| LoadError::Open(format!("path is not UTF-8: {}", path.display())))?;
    // SAFETY: opening a library runs its ELF initialisers. The file is a private copy of an
    // artifact that passed the ELF structure check, so the loader maps complete segments.
    // Running the author's initialisers is the trust the product makes by design
    // (in-process plugins); the probe ran them first in a child process. RTLD_NODELETE
    // keeps the code mapped even if a handle is closed.
    let library =
        unsafe { Library::open(Some(path_str), RTLD_NOW | RTLD_LOCAL | libc::RTLD_NODELETE) }
            .map_err(|error| LoadError::Open(error.to_string()))?;
    // Never dlclose: a Rust cdylib with thread-local destructors crashes the process later
    // when a worker thread exits (rust-lang/rust #59629). The handle is leaked on purpose,
    // including for libraries that turn out not to be plugins.
    Ok(Box::leak(Box::new(library)))
}

/// Reads and layout-checks the root module of an opened library.
fn root_module(library: &'static Library) -> Result<PluginModuleRef, LoadError> {
    // SAFETY: abi_stable's root module loader symbol is a `static LibHeader` whose first field
    // is an `AbiHeader`; reading the symbol's address as an `AbiHeaderRef` is exactly what
    // abi_stable's own `abi_header_from_raw_library` does. `upgrade` then validates the magic
    // string and abi_stable version before anything else is read through it.
    let header =
        unsafe { library.get::<AbiHeaderRef>(ROOT_MODULE_LOADER_NAME_WITH_NUL.as_bytes()) }
            .map(|symbol| *symbol)
            .map_err(|error| LoadError::NotAPlugin(error.to_string()))?;
    header
        .upgrade()
        .and_then(|lib_header| lib_header.init_root_module::<PluginModuleRef>())
        .map_err(describe_library_error)
}

/// abi_stable's layout errors run to hundreds of lines: log them whole, and keep the lines a
/// human needs (the `Error:` line and its `Expected`/`Found`) for the one-line reason.
fn describe_library_error(error: LibraryError) -> LoadError {
    let full = error.to_string();
    tracing::debug!(error = %full, "abi_stable refused the library");
    let summary = match &error {
        LibraryError::IncompatibleVersionNumber {
            expected_version,
            actual_version,
            ..
        } => format!(
            "built against frontdoor-plugin-api {actual_version}, this host needs a version compatible with {expected_version}"
        ),
        LibraryError::AbiInstability(_) => format!(
            "the root module's layout differs from this host's: {}",
            layout_verdict(&full)
        ),
        _ => full
            .lines()
            .next()
            .unwrap_or("unknown abi_stable error")
            .to_owned(),
    };
    LoadError::IncompatibleApi(summary)
}

/// Checks that a shared module's export can serve a consumer compiled against `expected`:
/// abi_stable's layout check, expected first (it is one-directional: a module may have
/// appended functions the consumer does not know, not the reverse). The proof it returns
/// is what a requirement is bound with.
pub fn check_interface(
    expected: &'static TypeLayout,
    export: &ModuleExport,
) -> Result<CheckedInterface, String> {
    CheckedInterface::check(expected, export).map_err(|errors| {
        let full = errors.to_string();
        tracing::debug!(error = %full, "interface layouts differ");
        layout_verdict(&full)
    })
}

/// abi_stable's layout errors put the verdict at the end: the last `Error:` line and its
/// indented `Expected:` / `Found:` blocks. Joined on one line, at most ~300 characters.
fn layout_verdict(full: &str) -> String {
    let lines: Vec<&str> = full
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let start = lines
        .iter()
        .rposition(|line| line.starts_with("Error:"))
        .unwrap_or(lines.len().saturating_sub(1));
    let mut verdict = lines[start..].join(" ");
    if verdict.len() > 300 {
        let cut = (0..=300)
            .rev()
            .find(|i| verdict.is_char_boundary(*i))
            .unwrap_or(0);
        verdict.truncate(cut);
        verdict.push_str("...");
    }
    verdict
}
