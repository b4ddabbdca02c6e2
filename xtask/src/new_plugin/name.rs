//! What a new plugin may be called: a kebab-case name that is a valid crate and adapter
//! name, not taken in this workspace and not reserved.

use anyhow::bail;

/// Longest name the host accepts for a plugin (its manifest check).
const MAX_LEN: usize = 64;

/// Names that are taken by something other than a workspace package: the host's built-in
/// baselines (`/static-bench/`, `/static-fanout/`), the crates of this platform, and crate names that would
/// shadow Rust's own (`std`, `core`, ...) or collide with cargo's targets (`test`, `build`).
const RESERVED: &[&str] = &[
    "static-bench",
    "static-fanout",
    "frontdoor",
    "frontdoor-plugin-api",
    "xtask",
    "admin",
    "std",
    "core",
    "alloc",
    "proc-macro",
    "proc_macro",
    "test",
    "build",
    "deps",
    "examples",
    "incremental",
];

/// Rust keywords (strict and reserved): the crate's identifier (`name_snake`) cannot be one.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop",
    "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return", "self",
    "static", "struct", "super", "trait", "true", "try", "type", "typeof", "unsafe", "unsized",
    "use", "virtual", "where", "while", "yield", "abstract", "become",
];

/// Checks `name` against the rules, `taken` being the package names of this workspace.
/// A shared module also takes `{name}-api`, checked against `taken` too.
pub fn validate(name: &str, shared_module: bool, taken: &[&str]) -> anyhow::Result<()> {
    if name.is_empty() {
        bail!("the plugin name is empty");
    }
    let kebab = name.split('-').all(|word| {
        !word.is_empty()
            && word
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if !kebab || !name.as_bytes()[0].is_ascii_lowercase() {
        bail!(
            "`{name}` is not a kebab-case name: use lowercase letters, digits and single dashes, starting with a letter (e.g. `kids-home`)"
        );
    }
    // The artifact is `{name}-{version}.so` and a shared module adds `-api`: keep room.
    let limit = if shared_module { MAX_LEN - 4 } else { MAX_LEN };
    if name.len() > limit {
        bail!(
            "`{name}` is {} characters long; the limit is {limit}",
            name.len()
        );
    }
    if RESERVED.contains(&name) {
        bail!("`{name}` is reserved (used by the host or the platform); choose another name");
    }
    if KEYWORDS.contains(&snake(name).as_str()) {
        bail!("`{name}` is a Rust keyword and cannot name a crate; choose another name");
    }
    let mut wanted = vec![name.to_owned()];
    if shared_module {
        wanted.push(format!("{name}-api"));
    }
    for package in &wanted {
        // Cargo treats `-` and `_` as the same in package names.
        if let Some(existing) = taken.iter().find(|taken| snake(taken) == snake(package)) {
            bail!(
                "a crate named `{existing}` already exists in this workspace; choose another name"
            );
        }
    }
    Ok(())
}

/// The Rust identifier form: `kids-home` → `kids_home`.
pub fn snake(name: &str) -> String {
    name.replace('-', "_")
}

/// The type-name form: `kids-home` → `KidsHome`.
pub fn camel(name: &str) -> String {
    name.split(['-', '_'])
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}
