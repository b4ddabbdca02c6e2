//! Admission: does a library that loaded fine on its own fit beside what is already
//! deployed (file name, kind, duplicate versions)?

use std::path::Path;

use super::RegistryState;
use crate::loader;

/// Registry-level checks on a library that loaded fine on its own.
pub(super) fn check_admission(
    state: &RegistryState,
    path: &Path,
    library: &loader::LoadedLibrary,
) -> Result<(), String> {
    let identity = &library.identity;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let stem = file_name.strip_suffix(".so").unwrap_or(&file_name);
    let named_after_plugin = stem == identity.name
        || stem
            .strip_prefix(identity.name.as_str())
            .is_some_and(|rest| rest.starts_with('-'));
    if !named_after_plugin {
        return Err(format!(
            "file {file_name} contains {}; artifacts must be named {}-{{version}}.so",
            identity.label, identity.name
        ));
    }
    if let Some(previous) = state.live.get(path)
        && previous.identity.name != identity.name
    {
        return Err(format!(
            "this file held {} and now declares {}: a file cannot change plugin",
            previous.identity.label, identity.label
        ));
    }
    let clash = state.builtins.iter().chain(
        state
            .live
            .iter()
            .filter(|(p, _)| p.as_path() != path)
            .map(|(_, v)| v),
    );
    for other in clash {
        if other.identity.name != identity.name {
            continue;
        }
        if other.kind != library.manifest.kind {
            return Err(format!(
                "{} is already loaded as another kind of plugin",
                identity.name
            ));
        }
        if other
            .identity
            .version
            .cmp_precedence(&identity.version)
            .is_eq()
        {
            let from = other
                .source
                .as_deref()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "the host itself".into());
            return Err(format!(
                "duplicate: {} is already loaded from {from}; versions are immutable, bump the version to ship a change",
                identity.label
            ));
        }
    }
    Ok(())
}
