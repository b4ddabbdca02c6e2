//! The scaffold's files, embedded in the xtask binary from `xtask/templates/`, and their
//! rendering: `{{placeholder}}`s replaced textually, a `.tmpl` suffix dropped.
//!
//! A template is named `Cargo.toml.tmpl` rather than `Cargo.toml` so that cargo never takes
//! the template directory for a crate. Every file under `xtask/templates/` must be listed
//! here: a unit test compares the list with the directory.

use anyhow::bail;

/// One embedded template file.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    /// Its path under `xtask/templates/`.
    pub path: &'static str,
    pub text: &'static str,
}

macro_rules! templates {
    ($($path:literal),* $(,)?) => {
        &[$(Template {
            path: $path,
            text: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/", $path)),
        }),*]
    };
}

/// An adapter crate.
pub const ADAPTER: &[Template] = templates![
    "adapter/Cargo.toml.tmpl",
    "adapter/src/lib.rs.tmpl",
    "adapter/src/tests.rs.tmpl",
];

/// A shared module's interface crate (`{name}-api`).
pub const SHARED_MODULE_API: &[Template] = templates![
    "shared-module/api/Cargo.toml.tmpl",
    "shared-module/api/src/lib.rs.tmpl",
];

/// A shared module's implementation crate (`{name}`).
pub const SHARED_MODULE_IMPL: &[Template] = templates![
    "shared-module/impl/Cargo.toml.tmpl",
    "shared-module/impl/src/lib.rs.tmpl",
    "shared-module/impl/src/tests.rs.tmpl",
];

/// What a crate (or pair of crates) outside this workspace gets besides its sources: the
/// `cargo xtask` alias into this checkout and a `.gitignore`.
pub const STANDALONE: &[Template] = templates![
    "standalone/.cargo/config.toml.tmpl",
    "standalone/.gitignore.tmpl",
];

/// Every list above, for the completeness test.
#[cfg(test)]
pub const ALL: [&[Template]; 4] = [ADAPTER, SHARED_MODULE_API, SHARED_MODULE_IMPL, STANDALONE];

/// The values of the placeholders.
pub type Values<'a> = [(&'a str, &'a str)];

impl Template {
    /// Where the rendered file goes, relative to the crate: the path below `prefix`
    /// (`adapter/`, `shared-module/api/`, ...) without the `.tmpl` suffix.
    pub fn destination(&self, prefix: &str) -> &'static str {
        let path = self.path.strip_prefix(prefix).unwrap_or(self.path);
        path.strip_suffix(".tmpl").unwrap_or(path)
    }

    /// The text with every placeholder replaced; an error names a placeholder that has no
    /// value, so a template and the xtask never drift apart silently.
    pub fn render(&self, values: &Values<'_>) -> anyhow::Result<String> {
        render(self.text, values).map_err(|error| error.context(format!("template {}", self.path)))
    }
}

/// Replaces each `{{key}}` of `values` in `text`; fails on a `{{identifier}}` left over.
pub fn render(text: &str, values: &Values<'_>) -> anyhow::Result<String> {
    let mut out = text.to_owned();
    for (key, value) in values {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    if let Some(unknown) = leftover_placeholder(&out) {
        bail!("unknown placeholder `{{{{{unknown}}}}}`");
    }
    Ok(out)
}

/// The first `{{identifier}}` in `text`, if any. Rust's escaped braces in format strings
/// (`{{` and `}}` around anything but a bare identifier) are not placeholders.
fn leftover_placeholder(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        if let Some(end) = after.find("}}") {
            let inner = &after[..end];
            if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Some(inner);
            }
        }
        rest = after;
    }
    None
}
