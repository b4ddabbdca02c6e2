//! `cargo xtask new-plugin NAME [--dir PATH] [--shared-module]`: scaffolds a plugin crate
//! that builds and answers, inside this workspace (`plugins/NAME`, or `shared-modules/NAME-api`
//! and `shared-modules/NAME`) or as a standalone crate anywhere (`--dir`).
//!
//! **Invariant:** it never overwrites a file: every destination is checked to be absent
//! before the first file is written, and each file is created exclusively.
//!
//! A scaffold inside the workspace is a member at once (the `plugins/*` and
//! `shared-modules/*` globs), so it enters `Cargo.lock`, which the command updates on purpose
//! and says so. Its plugin crate is marked `draft = true` under
//! `[package.metadata.frontdoor]`: `build-plugin --all` and `demo` skip drafts (they ship
//! what the repository ships), while `build-plugin plugins/NAME`, `dev` and
//! `cargo test --workspace` still build it. Deleting the line makes it part of `--all`.

mod name;
mod templates;

use std::{
    fs::{self, File},
    io::Write as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context as _, bail};

use crate::{build_plugin::external::ALIGNMENT_RUSTFLAGS, cargo, workspace::Workspace};
use templates::Template;

/// Scaffold an adapter (or a shared module) crate that builds.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plugin's name, kebab-case: package name, artifact name and, for an adapter, the
    /// URL prefix it serves (`/NAME/...`).
    name: String,
    /// Create a standalone crate in PATH (absent or empty) instead of inside this workspace;
    /// it depends on this checkout's plugin-api by absolute path.
    #[arg(long, value_name = "PATH")]
    dir: Option<PathBuf>,
    /// Scaffold a shared module: interface crate NAME-api and implementation NAME.
    #[arg(long)]
    shared_module: bool,
}

/// The initial version of every scaffold.
const INITIAL_VERSION: &str = "0.1.0";

/// The line that keeps an in-workspace scaffold out of `build-plugin --all`.
const DRAFT_LINE: &str =
    "# Left out of `build-plugin --all` and `demo` until this line is removed.\ndraft = true\n";

/// A standalone crate is the root of its own workspace, so it never joins one it happens to
/// sit under.
const STANDALONE_WORKSPACE: &str = "\n# A workspace of its own: this crate does not join a workspace it sits under.\n[workspace]\n";

/// One file to write.
#[derive(Debug)]
struct PlannedFile {
    path: PathBuf,
    text: String,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let workspace = Workspace::load()?;
    let taken = workspace.package_names();
    name::validate(&args.name, args.shared_module, &taken)?;
    let standalone = match &args.dir {
        Some(dir) => Some(standalone_dir(&workspace, dir)?),
        None => None,
    };
    let files = plan(
        &workspace,
        &args.name,
        args.shared_module,
        standalone.as_deref(),
    )?;
    for file in &files {
        if file.path.symlink_metadata().is_ok() {
            bail!(
                "{} already exists; new-plugin never overwrites a file",
                file.path.display()
            );
        }
    }
    for file in &files {
        write_new(&file.path, &file.text)?;
        println!(
            "created {}",
            crate::build_plugin::relative_to_cwd(&file.path).display()
        );
    }
    let root = standalone.clone().unwrap_or_else(|| workspace.root.clone());
    record_lock(&root);
    print_next_steps(
        &workspace,
        &args.name,
        args.shared_module,
        standalone.as_deref(),
    );
    Ok(())
}

/// Every file of the scaffold with its text.
fn plan(
    workspace: &Workspace,
    name: &str,
    shared_module: bool,
    standalone: Option<&Path>,
) -> anyhow::Result<Vec<PlannedFile>> {
    let sdk_dependency = match standalone {
        Some(_) => format!("{{ path = {} }}", toml_string(&workspace.sdk.dir)),
        None => "{ workspace = true }".to_owned(),
    };
    let sdk_dev_dependency = match workspace.sdk.has_testkit {
        true => format!(
            "{}, features = [\"testkit\"] }}",
            sdk_dependency.trim_end_matches('}').trim_end()
        ),
        false => sdk_dependency.clone(),
    };
    let snake = name::snake(name);
    let camel = name::camel(name);
    let xtask_manifest = toml_inner(&workspace.root.join("xtask").join("Cargo.toml"));
    // The checkout's rustflags for running its xtask from elsewhere (a config file given to
    // cargo would also bring its `xtask` alias, which clashes with the crate's own).
    let xtask_rustflags = format!(
        "target.x86_64-unknown-linux-gnu.rustflags=[{}]",
        ALIGNMENT_RUSTFLAGS
            .iter()
            .map(|flag| format!("\"{flag}\""))
            .collect::<Vec<_>>()
            .join(", ")
    )
    .replace('"', "\\\"");
    let xtask_target_dir = toml_inner(&workspace.target_dir);
    let values: &templates::Values<'_> = &[
        ("name", name),
        ("name_snake", &snake),
        ("name_camel", &camel),
        ("version", INITIAL_VERSION),
        ("sdk_dependency", &sdk_dependency),
        ("sdk_dev_dependency", &sdk_dev_dependency),
        ("xtask_manifest", &xtask_manifest),
        ("xtask_rustflags", &xtask_rustflags),
        ("xtask_target_dir", &xtask_target_dir),
    ];

    let mut files = Vec::new();
    let mut add = |dir: &Path, prefix: &str, list: &[Template], extra: Extra| {
        for template in list {
            let mut text = template.render(values)?;
            if template.destination(prefix) == "Cargo.toml" {
                text = match extra {
                    Extra::None => text,
                    Extra::Draft => mark_draft(&text),
                    Extra::OwnWorkspace => text + STANDALONE_WORKSPACE,
                };
            }
            files.push(PlannedFile {
                path: dir.join(template.destination(prefix)),
                text,
            });
        }
        anyhow::Ok(())
    };
    match (standalone, shared_module) {
        (None, false) => add(
            &workspace.root.join("plugins").join(name),
            "adapter/",
            templates::ADAPTER,
            Extra::Draft,
        )?,
        (None, true) => {
            let dir = workspace.root.join("shared-modules");
            add(
                &dir.join(format!("{name}-api")),
                "shared-module/api/",
                templates::SHARED_MODULE_API,
                Extra::None,
            )?;
            add(
                &dir.join(name),
                "shared-module/impl/",
                templates::SHARED_MODULE_IMPL,
                Extra::Draft,
            )?;
        }
        (Some(dir), false) => {
            add(dir, "adapter/", templates::ADAPTER, Extra::OwnWorkspace)?;
            add(dir, "standalone/", templates::STANDALONE, Extra::None)?;
        }
        (Some(dir), true) => {
            add(
                &dir.join(format!("{name}-api")),
                "shared-module/api/",
                templates::SHARED_MODULE_API,
                Extra::None,
            )?;
            add(
                &dir.join(name),
                "shared-module/impl/",
                templates::SHARED_MODULE_IMPL,
                Extra::None,
            )?;
            add(dir, "standalone/", templates::STANDALONE, Extra::None)?;
            files.push(PlannedFile {
                path: dir.join("Cargo.toml"),
                text: format!(
                    "# The {name} shared module: its interface crate and its implementation.\n[workspace]\nresolver = \"3\"\nmembers = [\"{name}-api\", \"{name}\"]\n"
                ),
            });
        }
    }
    if let Some(dir) = standalone {
        // This checkout's lock as the starting point: the SDK's dependencies resolve to the
        // versions the host was built and tested with, without asking the registry.
        let lock = fs::read_to_string(workspace.root.join("Cargo.lock"))
            .context("cannot read this workspace's Cargo.lock")?;
        files.push(PlannedFile {
            path: dir.join("Cargo.lock"),
            text: lock,
        });
    }
    Ok(files)
}

/// What a rendered `Cargo.toml` gets beyond its template.
#[derive(Debug, Clone, Copy)]
enum Extra {
    None,
    Draft,
    OwnWorkspace,
}

/// `text` (a manifest) with `draft = true` in `[package.metadata.frontdoor]`, added to the
/// table when the template has one, else as a new table at the end.
pub fn mark_draft(text: &str) -> String {
    const HEADER: &str = "[package.metadata.frontdoor]";
    match text.lines().position(|line| line.trim() == HEADER) {
        Some(index) => {
            let mut lines: Vec<&str> = text.lines().collect();
            lines.insert(index + 1, DRAFT_LINE.trim_end());
            lines.join("\n") + "\n"
        }
        None => format!("{text}\n{HEADER}\n{DRAFT_LINE}"),
    }
}

/// Checks `--dir`: absent or an empty directory, and not where the workspace's own plugin
/// globs would take it for a member.
fn standalone_dir(workspace: &Workspace, dir: &Path) -> anyhow::Result<PathBuf> {
    let dir =
        std::path::absolute(dir).with_context(|| format!("invalid directory {}", dir.display()))?;
    if let Ok(mut entries) = fs::read_dir(&dir) {
        if entries.next().is_some() {
            bail!(
                "{} exists and is not empty; new-plugin --dir needs a new or empty directory",
                dir.display()
            );
        }
    } else if dir.symlink_metadata().is_ok() {
        bail!("{} exists and is not a directory", dir.display());
    }
    for member_dir in ["plugins", "shared-modules"] {
        if dir.starts_with(workspace.root.join(member_dir)) {
            bail!(
                "{} is inside {member_dir}/ of this workspace, where crates are workspace members; leave out --dir to scaffold one there",
                dir.display()
            );
        }
    }
    Ok(dir)
}

/// Creates `path` (and its parents) with `text`, failing if it exists.
fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create directory {}", parent.display()))?;
    }
    File::create_new(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .with_context(|| format!("cannot create {}", path.display()))
}

/// Lets cargo record the new crates in the lock file of `root` (offline: their dependencies
/// are already locked). A failure is reported, not fatal: the crate is written.
fn record_lock(root: &Path) {
    let status = Command::new(cargo::program())
        .current_dir(root)
        .args(["metadata", "--offline", "--format-version", "1"])
        .stdout(Stdio::null())
        .status();
    match status {
        Ok(status) if status.success() => {}
        _ => eprintln!(
            "xtask: could not update {}/Cargo.lock offline; cargo will update it on the next build",
            root.display()
        ),
    }
}

fn print_next_steps(
    workspace: &Workspace,
    name: &str,
    shared_module: bool,
    standalone: Option<&Path>,
) {
    let adapter_hint = if shared_module {
        String::new()
    } else {
        format!(
            "  cargo xtask dev .           # rebuild on every edit, live in a running host (GET /{name}/hello)\n"
        )
    };
    match standalone {
        Some(dir) => {
            let crate_dir = if shared_module {
                dir.join(name)
            } else {
                dir.to_owned()
            };
            println!(
                "\nA standalone crate; it depends on {} by path.\nNext, in {}:\n  cargo test\n  cargo xtask build-plugin .  # release build -> {}/plugins.d/{name}-{INITIAL_VERSION}.so\n{adapter_hint}",
                workspace.sdk.dir.display(),
                crate_dir.display(),
                workspace.root.display(),
            );
        }
        None => {
            let dir = if shared_module {
                "shared-modules"
            } else {
                "plugins"
            };
            println!(
                "\nCargo.lock now lists the new crate: commit it with the crate (CI builds with --locked).\n{dir}/{name} is a draft (`draft = true` in its Cargo.toml): build-plugin --all and demo skip it until that line goes.\nNext:\n  cargo test -p {name}\n  cargo xtask build-plugin {dir}/{name}\n{}",
                adapter_hint.replace("dev .", &format!("dev {dir}/{name}"))
            );
        }
    }
}

/// `path` as a TOML basic string, quotes included.
fn toml_string(path: &Path) -> String {
    format!("\"{}\"", toml_inner(path))
}

/// `path` escaped for the inside of a TOML basic string.
fn toml_inner(path: &Path) -> String {
    path.display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
}

#[cfg(test)]
mod tests;
