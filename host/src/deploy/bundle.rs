//! Bundle manifests (`NAME.bundle.toml`): reading and vetting one, and which artifacts of
//! the plugins directory the manifests there claim.
//!
//! ```toml
//! [[member]]
//! file = "gallery-2.0.0.so"     # a plain file name in the plugins directory
//! plugin = "gallery@2.0.0"      # what its manifest must say
//! sha256 = "9f86d08..."         # optional: the file's SHA-256, hex
//! ```
//!
//! A manifest is untrusted input: it is opened without following symlinks, bounded in size
//! and member count, and every member must be a plain `*.so` name in the same directory.
//! An artifact a manifest names is deployed only through its bundle (see `deploy.rs`).

use std::{
    collections::{HashMap, HashSet},
    io::Read as _,
    os::unix::fs::OpenOptionsExt as _,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use crate::{
    loader::ContentId,
    registry::{Bundle, BundleMember, Registry},
};

/// The suffix that makes a file in the plugins directory a bundle manifest.
pub const SUFFIX: &str = ".bundle.toml";
/// Most members one bundle may have: a bundle is a release of a few plugins, not a fleet.
pub const MAX_MEMBERS: usize = 16;
/// Largest manifest read, in bytes.
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

/// Why a manifest was refused; `Display` is the reason in `/admin/plugins`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read the bundle manifest: {0}")]
    Io(String),
    #[error("the bundle manifest is not a regular file (symlinks are refused)")]
    NotRegular,
    #[error("the bundle manifest is {0} bytes, over the limit of {MAX_MANIFEST_BYTES}")]
    TooLarge(u64),
    #[error("the bundle manifest is not valid: {0}")]
    Parse(String),
    #[error("the bundle names no member")]
    NoMembers,
    #[error("the bundle names {0} members, more than the limit of {MAX_MEMBERS}")]
    TooManyMembers(usize),
    #[error("member file {file:?}: {why}")]
    BadFile { file: String, why: &'static str },
    #[error("member file {0:?} is named twice")]
    DuplicateFile(String),
    #[error("plugin {0} is named twice")]
    DuplicatePlugin(String),
    #[error("member {file:?}: plugin {plugin:?} is not name@version: {why}")]
    BadPlugin {
        file: String,
        plugin: String,
        why: String,
    },
    #[error("member {file:?}: sha256 is not 64 hexadecimal digits")]
    BadSha256 { file: String },
}

/// True for a bundle manifest's name: `NAME.bundle.toml`, not hidden.
pub fn is_bundle_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| {
            !name.starts_with('.') && name.len() > SUFFIX.len() && name.ends_with(SUFFIX)
        })
}

/// Reads and vets the manifest at `path`.
pub fn read(path: &Path) -> Result<Bundle, BundleError> {
    let (text, read_from) = read_text(path)?;
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.strip_suffix(SUFFIX))
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut bundle = parse(name, path, dir, &text)?;
    bundle.read_from = Some(read_from);
    Ok(bundle)
}

/// Parses a manifest's text. Member paths are `dir` joined with each vetted file name.
pub fn parse(name: &str, manifest: &Path, dir: &Path, text: &str) -> Result<Bundle, BundleError> {
    let file: ManifestFile =
        toml::from_str(text).map_err(|error| BundleError::Parse(one_line(&error.to_string())))?;
    if file.member.is_empty() {
        return Err(BundleError::NoMembers);
    }
    if file.member.len() > MAX_MEMBERS {
        return Err(BundleError::TooManyMembers(file.member.len()));
    }
    let mut files = HashSet::new();
    let mut plugins = HashSet::new();
    let mut members = Vec::with_capacity(file.member.len());
    for raw in file.member {
        check_file_name(&raw.file)?;
        if !files.insert(raw.file.clone()) {
            return Err(BundleError::DuplicateFile(raw.file));
        }
        let (plugin_name, version) = parse_plugin(&raw.file, &raw.plugin)?;
        if !plugins.insert(plugin_name.clone()) {
            return Err(BundleError::DuplicatePlugin(plugin_name));
        }
        let sha256 = raw
            .sha256
            .as_deref()
            .map(|text| parse_sha256(&raw.file, text))
            .transpose()?;
        members.push(BundleMember {
            path: dir.join(&raw.file),
            name: plugin_name,
            version,
            sha256,
        });
    }
    Ok(Bundle {
        name: name.to_owned(),
        manifest: manifest.to_owned(),
        members,
        read_from: None,
    })
}

/// For each artifact that a bundle manifest names, the manifests naming it.
pub(crate) type Claims = HashMap<PathBuf, Vec<PathBuf>>;

/// The [`Claims`] of the manifests in `dir`. A manifest that fails vetting still claims the
/// plain `*.so` names it lists, so a typo in it never lets its members deploy one by one.
pub fn claims(dir: &Path) -> Claims {
    let mut claims = Claims::new();
    for manifest in manifests(dir) {
        let named: Vec<PathBuf> = match read(&manifest) {
            Ok(bundle) => bundle.members.into_iter().map(|m| m.path).collect(),
            Err(_) => read_text(&manifest)
                .ok()
                .map(|(text, _)| named_files(&text))
                .unwrap_or_default()
                .into_iter()
                .map(|file| dir.join(file))
                .collect(),
        };
        for path in named {
            claims.entry(path).or_default().push(manifest.clone());
        }
    }
    claims
}

/// The bundle manifests in `dir`, sorted.
pub fn manifests(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| is_bundle_name(path))
        .collect();
    found.sort();
    found
}

/// Brings the bundle of `manifest` in line: deploys it, refuses a bad manifest (once per
/// content), or forgets a manifest that is gone.
pub fn sync(registry: &Registry, manifest: &Path) {
    match read(manifest) {
        Ok(bundle) => registry.sync_bundle(&bundle),
        Err(BundleError::Io(_)) if !manifest.exists() && manifest.symlink_metadata().is_err() => {
            registry.remove_file(manifest);
        }
        Err(_) if registry.is_unchanged(manifest) => {}
        Err(error) => registry.refuse(manifest, error.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    #[serde(default)]
    member: Vec<RawMember>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMember {
    file: String,
    plugin: String,
    sha256: Option<String>,
}

/// The manifest's text, and the identity of the file it was read from (the open file's,
/// so the two always go together even when the manifest is replaced meanwhile).
fn read_text(path: &Path) -> Result<(String, ContentId), BundleError> {
    // O_NOFOLLOW: a symlink is refused rather than read; O_NONBLOCK: a FIFO cannot hang
    // the deployer before the kind check.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|error| match error.raw_os_error() {
            Some(libc::ELOOP) => BundleError::NotRegular,
            _ => BundleError::Io(error.to_string()),
        })?;
    let metadata = file
        .metadata()
        .map_err(|error| BundleError::Io(error.to_string()))?;
    if !metadata.is_file() {
        return Err(BundleError::NotRegular);
    }
    if metadata.len() > MAX_MANIFEST_BYTES {
        return Err(BundleError::TooLarge(metadata.len()));
    }
    let mut text = String::new();
    file.take(MAX_MANIFEST_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|error| BundleError::Io(error.to_string()))?;
    Ok((text, ContentId::of(&metadata)))
}

/// A member must be a plain artifact name in the plugins directory: no directory part
/// (so no absolute path and no `..`), not hidden, `*.so`.
fn check_file_name(file: &str) -> Result<(), BundleError> {
    let bad = |why| {
        Err(BundleError::BadFile {
            file: file.to_owned(),
            why,
        })
    };
    if file.contains('/') || file.contains('\\') {
        return bad("must be a file name in the plugins directory, without a directory part");
    }
    if file == "." || file == ".." || file.starts_with('.') {
        return bad("hidden files and `..` are not artifacts");
    }
    if file.contains('\0') || file.chars().any(char::is_control) {
        return bad("control characters are not allowed");
    }
    if !super::is_artifact_name(Path::new(file)) {
        return bad("not an artifact name (`*.so`)");
    }
    Ok(())
}

fn parse_plugin(file: &str, plugin: &str) -> Result<(String, semver::Version), BundleError> {
    let bad = |why: String| BundleError::BadPlugin {
        file: file.to_owned(),
        plugin: plugin.to_owned(),
        why,
    };
    let (name, version) = plugin.split_once('@').ok_or_else(|| bad("no `@`".into()))?;
    if name.is_empty() {
        return Err(bad("empty name".into()));
    }
    let version = semver::Version::parse(version).map_err(|error| bad(error.to_string()))?;
    Ok((name.to_owned(), version))
}

fn parse_sha256(file: &str, text: &str) -> Result<[u8; 32], BundleError> {
    let bad = || BundleError::BadSha256 {
        file: file.to_owned(),
    };
    if text.len() != 64 || !text.is_ascii() {
        return Err(bad());
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
    }
    Ok(bytes)
}

/// The plain artifact names a manifest lists, read leniently (any `file` string of any
/// `[[member]]`), for a manifest that failed vetting.
fn named_files(text: &str) -> Vec<String> {
    let Ok(value) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    value
        .get("member")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|member| member.get("file")?.as_str())
        .filter(|file| check_file_name(file).is_ok())
        .map(str::to_owned)
        .collect()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod replaced_while_read;
#[cfg(test)]
mod tests;
