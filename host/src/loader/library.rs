//! Opens one artifact: unique copy, dlopen with explicit flags, abi_stable checks, manifest,
//! init. This file holds the host's `unsafe` code for loading.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
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

use super::{
    LoadError, artifact,
    host_services::{HostServices, PluginIdentity},
    manifest_check::{self, ValidManifest},
};

/// A plugin that passed every check and was initialised. Its code stays mapped for the life
/// of the process: there is deliberately no way to unload it.
pub struct LoadedLibrary {
    pub module: PluginModuleRef,
    /// A shared module's interface (layout and table); `None` for adapters.
    pub export: Option<ModuleExport>,
    pub manifest: ValidManifest,
    pub identity: Arc<PluginIdentity>,
    /// The private copy that was opened.
    pub mapped_copy: PathBuf,
    /// Size of the artifact, which is roughly what it costs in RSS once mapped.
    pub file_bytes: u64,
}

/// Loads the artifact at `source`, opening a private copy of it under `copies_dir`.
pub fn load_library(source: &Path, copies_dir: &Path) -> Result<LoadedLibrary, LoadError> {
    let started = std::time::Instant::now();
    let mapped_copy = unique_copy(copies_dir, source)?;
    let copied = started.elapsed();
    // The private copy is what gets checked and then opened: nobody else writes it, so the
    // bytes the loader maps are exactly the bytes that passed the check.
    let file_bytes = artifact::check_file(&mapped_copy)
        .and_then(|file_bytes| open_root_module(&mapped_copy).map(|module| (file_bytes, module)))
        .inspect_err(|error| {
            // A copy the dynamic loader never mapped can go. Copies that were mapped stay
            // until the host exits, so tools can still resolve their symbols.
            if !matches!(
                error,
                LoadError::NotAPlugin(_) | LoadError::IncompatibleApi(_)
            ) {
                let _ = std::fs::remove_file(&mapped_copy);
            }
        });
    let (file_bytes, module) = file_bytes?;
    let opened = started.elapsed();

    let raw_manifest = match (module.manifest())() {
        RResult::ROk(manifest) => manifest,
        RResult::RErr(message) => {
            return Err(LoadError::EntryPoint {
                entry: "manifest",
                message: message.into_string(),
            });
        }
    };
    let manifest = manifest_check::validate(&raw_manifest)?;
    let identity = Arc::new(PluginIdentity::new(&manifest.name, &manifest.version));

    let services: PluginHostObj =
        PluginHostObj::from_ptr(RBox::new(HostServices::new(identity.clone())), TD_Opaque);
    if let RResult::RErr(message) = (module.init())(services) {
        return Err(LoadError::EntryPoint {
            entry: "init",
            message: message.into_string(),
        });
    }
    let export =
        match manifest.kind {
            PluginKind::SharedModule => Some((module.export())().into_option().ok_or_else(
                || LoadError::EntryPoint {
                    entry: "export",
                    message: "a shared module exported no interface".into(),
                },
            )?),
            PluginKind::Adapter => None,
        };
    // Reload latency is a product promise: keep where it goes visible at debug level.
    tracing::debug!(
        file = %source.display(),
        copy_us = copied.as_micros(),
        check_and_dlopen_us = (opened - copied).as_micros(),
        init_us = (started.elapsed() - opened).as_micros(),
        "artifact loaded"
    );

    Ok(LoadedLibrary {
        module,
        export,
        manifest,
        identity,
        mapped_copy,
        file_bytes,
    })
}

/// Copies the artifact to a path no library was ever opened from: the dynamic loader
/// returns the already-loaded code for a path (or inode) it has seen, which would serve the
/// old version after a redeploy. `std::fs::copy` copies inside the kernel
/// (`copy_file_range`): a tenth of the time of writing the bytes from user space on ext4.
/// No fsync: the copy is opened right away through the page cache, and a crash loses
/// nothing (copies belong to one process).
fn unique_copy(copies_dir: &Path, source: &Path) -> Result<PathBuf, LoadError> {
    static NEXT_COPY: AtomicU64 = AtomicU64::new(1);
    std::fs::create_dir_all(copies_dir).map_err(|error| LoadError::Io {
        path: copies_dir.to_owned(),
        source: error,
    })?;
    let file_name = source
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "artifact.so".into());
    let copy = copies_dir.join(format!(
        "{:06}-{file_name}",
        NEXT_COPY.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::copy(source, &copy).map_err(|error| {
        let _ = std::fs::remove_file(&copy);
        LoadError::Io {
            path: source.to_owned(),
            source: error,
        }
    })?;
    Ok(copy)
}

/// dlopens `path` and returns its layout-checked root module.
fn open_root_module(path: &Path) -> Result<PluginModuleRef, LoadError> {
    let path_str = path
        .to_str()
        .ok_or_else(|| LoadError::Open(format!("path is not UTF-8: {}", path.display())))?;
    // SAFETY: opening a library runs its ELF initialisers. The file is a private copy of an
    // artifact that passed the ELF structure check, so the loader maps complete segments.
    // Running the author's initialisers is the trust the product makes by design
    // (in-process plugins). RTLD_NODELETE keeps the code mapped even if a handle is closed.
    let library =
        unsafe { Library::open(Some(path_str), RTLD_NOW | RTLD_LOCAL | libc::RTLD_NODELETE) }
            .map_err(|error| LoadError::Open(error.to_string()))?;
    // SAFETY: abi_stable's root module loader symbol is a `static LibHeader` whose first field
    // is an `AbiHeader`; reading the symbol's address as an `AbiHeaderRef` is exactly what
    // abi_stable's own `abi_header_from_raw_library` does. `upgrade` then validates the magic
    // string and abi_stable version before anything else is read through it.
    let header =
        unsafe { library.get::<AbiHeaderRef>(ROOT_MODULE_LOADER_NAME_WITH_NUL.as_bytes()) }
            .map(|symbol| *symbol)
            .map_err(|error| LoadError::NotAPlugin(error.to_string()));
    // Never dlclose: a Rust cdylib with thread-local destructors crashes the process later
    // when a worker thread exits (rust-lang/rust #59629). The handle is leaked on purpose,
    // including for libraries that turn out not to be plugins.
    std::mem::forget(library);
    let module = header?
        .upgrade()
        .and_then(|lib_header| lib_header.init_root_module::<PluginModuleRef>())
        .map_err(describe_library_error)?;
    Ok(module)
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
