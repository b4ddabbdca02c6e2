//! Turns an artifact file into a loaded, validated plugin, the safe way DESIGN.md describes.
//!
//! Every hand-written `unsafe` of the host lives below this module. The rules it enforces:
//! - the file is read once, checked as a complete ELF shared object ([`artifact`]), and
//!   copied to a unique path before `dlopen`, so a replaced file never returns stale code and
//!   a file changed after the check cannot be mapped;
//! - `dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)` through libloading, never
//!   `RootModule::load_from*` (its per-type static cache returns the first version forever);
//! - the library is never closed (Rust cdylibs with TLS destructors crash on `dlclose`);
//! - every call into the plugin goes through the SDK's panic guards, and the host catches
//!   what async-ffi re-raises.

mod artifact;
mod error;
mod host_services;
mod library;
mod manifest_check;

pub use error::LoadError;
pub use host_services::{DeviceRequest, PluginIdentity, host_max_level};
pub use library::{LoadedLibrary, check_interface, load_library};
pub use manifest_check::{ValidManifest, ValidRequirement, ValidRoute};
