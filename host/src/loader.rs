//! Turns an artifact file into a loaded, validated plugin, the safe way the contract asks,
//! handling code from disk the way a program that runs code from disk must.
//!
//! Every hand-written `unsafe` of the host lives below this module. The rules it enforces:
//! - the artifact is opened once, without following symlinks (unless allowed) and without
//!   blocking on a FIFO, and vetted from `fstat` of that descriptor: a regular file, within
//!   `max_artifact_bytes`, that only the host's user or root can write, in a directory only
//!   they can write ([`source`]);
//! - its ELF headers are read by offset and checked before anything is copied, and again
//!   on the private copy, which is what gets opened ([`artifact`]);
//! - the copy lives in a directory the host created for itself, exclusively, mode 0700, and
//!   is removed as soon as the library is mapped ([`copies`]);
//! - a sacrificial child process loads the copy first ([`probe`]): initializers that crash
//!   or hang cost the child, not the host;
//! - a durable marker brackets the host's own `dlopen` ([`load_markers`]): a host that died
//!   there refuses the file at its next start instead of crash-looping;
//! - in fleet mode, the private copy is verified against the artifact's signature before
//!   the probe, and the plugin must be what it was signed as ([`signed`]);
//! - `dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)` through libloading, never
//!   `RootModule::load_from*` (its per-type static cache returns the first version forever);
//! - the library is never closed (Rust cdylibs with TLS destructors crash on `dlclose`);
//! - a version's init hook (with its configuration), then its warm-up, each bounded by a
//!   timeout, run before the registry may publish it ([`init_hook`], [`warmup`]);
//! - every call into the plugin goes through the SDK's panic guards, and the host catches
//!   what async-ffi re-raises.

mod artifact;
#[cfg(test)]
mod busy_core;
mod config;
mod copies;
mod error;
mod host_services;
mod in_runtime;
mod init_hook;
mod library;
mod load_markers;
mod manifest_check;
mod ownership;
mod probe;
mod setup;
mod signed;
mod source;
mod warmup;
mod work_deadline;

pub use config::{ArtifactsConfig, LoaderConfig};
pub use copies::{CopiesSetupError, CopiesStats};
pub use error::LoadError;
pub use host_services::{DeviceRequest, PluginIdentity, host_max_level};
pub use in_runtime::mark_runtime_thread;
pub use init_hook::InitError;
pub use library::{LoadStage, LoadedLibrary, check_interface, load_library};
pub use load_markers::{ContentId, InheritedLock, StateDirError};
pub use manifest_check::{ValidManifest, ValidRequirement, ValidRoute};
pub(crate) use probe::background::mark_current_thread as mark_background_thread;
pub use probe::{Ending, ProbeFailure, ProbeRuns, child::SUBCOMMAND as PROBE_SUBCOMMAND};
pub use setup::{Loader, LoaderSetupError};
pub use signed::signature_path;
pub use warmup::{WarmupError, WarmupServices, warm_up};
pub(crate) use work_deadline::current_thread_id;

/// Runs the hidden `probe-artifact` subcommand on `copy` and ends the process.
pub fn run_probe_child(copy: &std::path::Path, parent_pid: Option<u32>) -> ! {
    probe::child::run(copy, parent_pid)
}
