//! Why an artifact could not be loaded, phrased for the operator reading `/admin/plugins`.

use std::path::PathBuf;

/// A load failure. `Display` is the one-line reason shown in the admin API and the log.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("empty file: not a plugin artifact")]
    Empty,
    #[error("not an ELF shared library: {0}")]
    NotElf(String),
    #[error("truncated or corrupt artifact: {0}")]
    Truncated(String),
    #[error("the dynamic loader refused it: {0}")]
    Open(String),
    #[error("not a Frontdoor plugin: it exports no abi_stable root module ({0})")]
    NotAPlugin(String),
    #[error("incompatible plugin-api: {0}")]
    IncompatibleApi(String),
    #[error("the plugin's {entry} entry point failed: {message}")]
    EntryPoint {
        entry: &'static str,
        message: String,
    },
    #[error("invalid manifest: {0}")]
    InvalidManifest(String),
    #[error(
        "built with panic = \"abort\": its panics could not be contained and would end the host; \
         build it with the default panic = \"unwind\""
    )]
    PanicAbort,
    #[error(
        "{mapped} libraries are mapped into the host, its cap (max_mapped_libraries = {cap}); \
         libraries are never unloaded: restart the host to load more"
    )]
    MappedLibraryCap { mapped: usize, cap: usize },
}

impl LoadError {
    /// For a failure after `dlopen`: the library stays mapped (libraries are never closed),
    /// so the registry counts it; `Some(bytes)` of its file when known, else `Some(0)`.
    pub fn mapped_bytes(&self) -> Option<u64> {
        match self {
            Self::NotAPlugin(_)
            | Self::IncompatibleApi(_)
            | Self::EntryPoint { .. }
            | Self::InvalidManifest(_)
            | Self::PanicAbort => Some(0),
            Self::Io { .. }
            | Self::Empty
            | Self::NotElf(_)
            | Self::Truncated(_)
            | Self::Open(_)
            | Self::MappedLibraryCap { .. } => None,
        }
    }
}
