//! Why an artifact could not be loaded, phrased for the operator reading `/admin/plugins`.

use std::path::PathBuf;

use super::probe::ProbeFailure;

/// A load failure. `Display` is the one-line reason shown in the admin API and the log.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the {what}: {source}")]
    Read {
        what: &'static str,
        source: std::io::Error,
    },
    #[error(
        "a symbolic link{}: symlinks are refused unless artifacts.allow_symlinks = true",
        target.as_ref().map(|target| format!(" to {}", target.display())).unwrap_or_default()
    )]
    Symlink { target: Option<PathBuf> },
    #[error(
        "not a regular file but {what}{}: only regular files are loaded",
        if *via_symlink { " behind a symbolic link" } else { "" }
    )]
    NotRegular {
        what: &'static str,
        via_symlink: bool,
    },
    #[error(
        "{bytes} bytes, over the limit of artifacts.max_artifact_bytes = {limit}: refused before copying"
    )]
    TooLarge { bytes: u64, limit: u64 },
    #[error(
        "insecure permissions: {0}; only the host's user or root may be able to change what it loads (chmod go-w, chown, or set artifacts.allow_insecure_permissions = true)"
    )]
    InsecurePermissions(String),
    #[error("empty file: not a plugin artifact")]
    Empty,
    #[error("not an ELF shared library: {0}")]
    NotElf(String),
    #[error("truncated or corrupt artifact: {0}")]
    Truncated(String),
    #[error("the artifact changed while it was being copied: {0}")]
    Changed(String),
    #[error("cannot make the private copy to load: {0}")]
    Copy(String),
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
    /// The sacrificial child process refused the artifact or died loading it.
    #[error(transparent)]
    Probe(#[from] ProbeFailure),
    #[error(
        "the host died while loading it ({fingerprint}); it stays refused until the file changes"
    )]
    HostDiedLoading {
        /// The file as it was when the host died: size, inode, modification time.
        fingerprint: String,
        /// `name@version` when a probe had read it.
        plugin: Option<String>,
    },
    #[error("cannot record the load in the state directory: {0}")]
    Marker(String),
    /// A failure after the library was opened in the host: its code stays mapped (libraries
    /// are never closed). Displayed as the failure itself.
    #[error("{error}")]
    LeftMapped {
        mapped_bytes: u64,
        /// `name@version`, when the manifest had been read.
        plugin: Option<String>,
        error: Box<LoadError>,
    },
    /// The version's init hook failed, panicked, blocked or ran out of time.
    #[error(transparent)]
    Init(#[from] super::init_hook::InitError),
    /// The version's warm-up failed, panicked or ran out of time.
    #[error(transparent)]
    Warmup(#[from] super::warmup::WarmupError),
    /// Fleet mode: the artifact is not signed by a key of the team that owns it.
    #[error("not a trusted artifact: {0}")]
    Untrusted(#[from] crate::fleet::SignatureError),
    /// Fleet mode: the plugin is not what its signature says it is.
    #[error("signed as {signed}, but the plugin says it is {actual}: refused")]
    NotAsSigned { signed: String, actual: String },
    #[error("the loader is closed: the host is shutting down")]
    Closed,
}

impl LoadError {
    /// The bytes of library this failed load left mapped in the host (`None` when it failed
    /// before the host opened the library: nothing is mapped).
    pub fn mapped_bytes(&self) -> Option<u64> {
        match self {
            Self::LeftMapped { mapped_bytes, .. } => Some(*mapped_bytes),
            _ => None,
        }
    }

    /// `name@version` of the plugin, when the failure came after its manifest was read.
    pub fn plugin(&self) -> Option<&str> {
        match self {
            Self::Probe(failure) => failure.plugin(),
            Self::HostDiedLoading { plugin, .. } => plugin.as_deref(),
            Self::LeftMapped { plugin, error, .. } => plugin.as_deref().or_else(|| error.plugin()),
            _ => None,
        }
    }

    /// The failure itself, without the note that it left a library mapped.
    pub fn cause(&self) -> &LoadError {
        match self {
            Self::LeftMapped { error, .. } => error.cause(),
            other => other,
        }
    }
}
