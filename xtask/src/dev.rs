//! `cargo xtask dev PATH`: the edit-to-live loop for an adapter. Watches the crate's
//! sources, rebuilds on every change (dev profile), installs the build into a running
//! host's plugins directory as a new version, waits until the host serves it or refuses it,
//! and prints its first answer or the refusal.
//!
//! Every build is a new version without touching `Cargo.toml` (`version.rs`, compiled in by
//! `rustc_wrapper.rs`); the previous dev build's file is removed once the new one is live, so
//! the directory holds one. The host is the one named by flags, else the one the demo or an
//! earlier loop recorded, else one started here with the sample backends (`dev_host.rs`).

mod dev_host;
mod live;
mod version;
mod watch;

use std::{
    env, fs,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use cargo_metadata::{PackageId, semver::Version};

use crate::{
    build_plugin::{
        external::{self, CrateBuild},
        install,
    },
    cargo::Profile,
    workspace::Workspace,
};
pub use dev_host::{DevHost, forget as forget_host, record as record_host};
use live::Verdict;

/// Watch an adapter's sources, rebuild and install it on every change, print its first answer.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The adapter: a workspace package name or directory, or any crate directory.
    #[arg(value_name = "PATH-OR-PACKAGE")]
    crate_path: String,
    /// The plugins directory of a running host (with --admin and --listen); without them,
    /// the host recorded by `cargo xtask demo` or an earlier `dev`, else a new one.
    #[arg(long, value_name = "DIR")]
    plugins_dir: Option<PathBuf>,
    /// The admin address of a running host (`127.0.0.1:8081`).
    #[arg(long, value_name = "ADDR", requires_all = ["listen", "plugins_dir"])]
    admin: Option<String>,
    /// The device address of that host (`127.0.0.1:8080`).
    #[arg(long, value_name = "ADDR", requires = "admin")]
    listen: Option<String>,
    /// The path to GET after each build, below the adapter's prefix [default: its first GET
    /// route without parameters].
    #[arg(long, value_name = "PATH")]
    path: Option<String>,
    /// Make N edits to src/lib.rs (an appended comment, undone at the end), time each from
    /// the write to the new version's first answer, print the median and exit.
    #[arg(long, value_name = "N")]
    measure: Option<usize>,
}

/// How long the host may take to load (and warm up) a new version.
const LIVE_TIMEOUT: Duration = Duration::from_secs(60);

/// The crate under development.
struct DevCrate {
    id: PackageId,
    package: String,
    plugin_name: String,
    version: Version,
    dir: PathBuf,
    manifest_path: PathBuf,
    /// Where cargo runs: the workspace root for a member, else the crate.
    cwd: PathBuf,
    outside_workspace: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let workspace = Workspace::load()?;
    let target = resolve(&workspace, &args.crate_path)?;
    let (host, _owned) = match (&args.admin, &args.listen, &args.plugins_dir) {
        (Some(admin), Some(listen), Some(dir)) => (
            dev_host::given(parse_addr(admin)?, parse_addr(listen)?, dir)?,
            None,
        ),
        _ => match dev_host::recorded(&workspace).filter(|_| args.plugins_dir.is_none()) {
            Some(host) => {
                println!(
                    "using the running frontdoor (pid {}): devices http://{}, admin http://{}",
                    host.pid, host.listen, host.admin
                );
                (host, None)
            }
            None => {
                let (host, owned) = dev_host::start(&workspace, args.plugins_dir.as_deref())?;
                (host, Some(owned))
            }
        },
    };
    let watch = watch::Watch::start(&target.dir)?;
    let mut session = Session::new(&target, &host, args.path.clone())?;
    println!("watching {} (Ctrl-C to stop)", target.dir.display());
    session.cycle(Instant::now())?;
    if let Some(edits) = args.measure {
        return measure(&mut session, &watch, &target, edits);
    }
    loop {
        let (changed_at, _paths) = watch.next_change()?;
        session.cycle(changed_at)?;
    }
}

/// One dev session against one host.
struct Session<'a> {
    target: &'a DevCrate,
    host: &'a DevHost,
    path: Option<String>,
    next: u64,
    /// Dev builds of this plugin in the plugins directory, removed once a newer one is live.
    previous: Vec<PathBuf>,
}

/// What one cycle ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Live,
    Refused,
    BuildFailed,
}

impl<'a> Session<'a> {
    fn new(target: &'a DevCrate, host: &'a DevHost, path: Option<String>) -> anyhow::Result<Self> {
        let mut highest = 0;
        let mut previous = Vec::new();
        for entry in fs::read_dir(&host.plugins_dir)
            .with_context(|| format!("cannot read {}", host.plugins_dir.display()))?
        {
            let path = entry?.path();
            let Some(n) = dev_file_number(&path, &target.plugin_name, &target.version) else {
                continue;
            };
            highest = highest.max(n);
            previous.push(path);
        }
        // A host may still hold dev versions whose files are gone (retired, not unloaded):
        // the next one must be above those too.
        if let Ok(response) = host.admin_get("/admin/plugins", Duration::from_secs(5))
            && let Ok(plugins) = serde_json::from_slice::<serde_json::Value>(&response.body)
        {
            let versions = plugins["plugins"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|plugin| plugin["name"] == target.plugin_name.as_str())
                .flat_map(|plugin| plugin["versions"].as_array().into_iter().flatten())
                .filter_map(|entry| Version::parse(entry["version"].as_str()?).ok());
            for version in versions {
                if let Some(n) = version::dev_number(&target.version, &version) {
                    highest = highest.max(n);
                }
            }
        }
        Ok(Self {
            target,
            host,
            path,
            next: highest + 1,
            previous,
        })
    }

    /// Build, install, wait for the verdict, print the first answer or the reason.
    fn cycle(&mut self, changed_at: Instant) -> anyhow::Result<Outcome> {
        let target = self.target;
        let version = version::dev_version(&target.version, self.next);
        self.next += 1;
        let built = external::build_crate(&CrateBuild {
            cwd: &target.cwd,
            manifest_path: &target.manifest_path,
            package: &target.package,
            package_id: &target.id,
            profile: Profile::Dev,
            outside_workspace: target.outside_workspace,
            version: Some(&version),
        });
        let library = match built {
            Ok(library) => library,
            Err(error) => {
                eprintln!("xtask: {error:#}; waiting for the next change");
                return Ok(Outcome::BuildFailed);
            }
        };
        let file_name = format!("{}-{version}.so", target.plugin_name);
        let (installed, _) = install::atomically(&library, &self.host.plugins_dir, &file_name)?;
        let verdict = live::wait(
            self.host,
            &target.plugin_name,
            &version,
            &file_name,
            LIVE_TIMEOUT,
        )?;
        match verdict {
            Verdict::Refused(reason) => {
                println!(
                    "REFUSED {}@{version} after {:.2} s: {reason}",
                    target.plugin_name,
                    changed_at.elapsed().as_secs_f64()
                );
                // The previous build keeps serving; the refused file goes.
                let _ = fs::remove_file(&installed);
                Ok(Outcome::Refused)
            }
            Verdict::Live { kind, plain_gets } => {
                if kind != "adapter" {
                    let _ = fs::remove_file(&installed);
                    bail!(
                        "{} is a {kind}: the dev loop is for adapters (a prerelease of a shared module satisfies no consumer's requirement); use build-plugin",
                        target.plugin_name
                    );
                }
                for old in self.previous.drain(..) {
                    let _ = fs::remove_file(old);
                }
                self.previous.push(installed);
                self.answer(&version, &plain_gets, changed_at)?;
                Ok(Outcome::Live)
            }
        }
    }

    fn answer(
        &self,
        version: &Version,
        plain_gets: &[String],
        changed_at: Instant,
    ) -> anyhow::Result<()> {
        let name = &self.target.plugin_name;
        let Some(path) = self
            .path
            .as_deref()
            .or(plain_gets.first().map(String::as_str))
        else {
            println!(
                "LIVE {name}@{version} after {:.2} s (no GET route without parameters; pass --path to see an answer)",
                changed_at.elapsed().as_secs_f64()
            );
            return Ok(());
        };
        let response = live::first_answer(self.host.listen, name, version, path)?;
        let elapsed = changed_at.elapsed().as_secs_f64();
        let body = String::from_utf8_lossy(&response.body);
        let shown: String = body.chars().take(2000).collect();
        println!(
            "LIVE {name}@{version} after {elapsed:.2} s: GET /{name}{path} -> {} ({})\n{shown}",
            response.status,
            response
                .header("x-frontdoor-adapter")
                .unwrap_or("no adapter header"),
        );
        Ok(())
    }
}

/// `Some(n)` when `path` is the file of dev build `n` of `plugin` at `base`.
fn dev_file_number(path: &Path, plugin: &str, base: &Version) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let stem = name
        .strip_suffix(".so")?
        .strip_prefix(plugin)?
        .strip_prefix('-')?;
    version::dev_number(base, &Version::parse(stem).ok()?)
}

/// `--measure N`: N edits of `src/lib.rs`, each timed from the write to the first answer.
fn measure(
    session: &mut Session<'_>,
    watch: &watch::Watch,
    target: &DevCrate,
    edits: usize,
) -> anyhow::Result<ExitCode> {
    let lib = target.dir.join("src").join("lib.rs");
    let original =
        fs::read_to_string(&lib).with_context(|| format!("cannot read {}", lib.display()))?;
    let mut times = Vec::with_capacity(edits);
    let outcome = (|| {
        for edit in 1..=edits {
            watch.discard_pending();
            let text = format!("{original}\n// cargo xtask dev --measure: edit {edit}\n");
            let written = Instant::now();
            fs::write(&lib, text).with_context(|| format!("cannot write {}", lib.display()))?;
            let _ = watch.next_change()?;
            if session.cycle(written)? != Outcome::Live {
                bail!("edit {edit} did not go live");
            }
            times.push(written.elapsed());
        }
        anyhow::Ok(())
    })();
    fs::write(&lib, &original).with_context(|| format!("cannot restore {}", lib.display()))?;
    // A measurement leaves nothing behind in the plugins directory.
    for file in session.previous.drain(..) {
        let _ = fs::remove_file(file);
    }
    outcome?;
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "edit to live over {edits} edits: median {:.2} s, min {:.2} s, max {:.2} s",
        median.as_secs_f64(),
        times.first().map_or(0.0, Duration::as_secs_f64),
        times.last().map_or(0.0, Duration::as_secs_f64),
    );
    Ok(ExitCode::SUCCESS)
}

/// The crate named by `arg`: a workspace plugin, else a crate directory checked like
/// `build-plugin`'s.
fn resolve(workspace: &Workspace, arg: &str) -> anyhow::Result<DevCrate> {
    if let Ok(package) = workspace.find_plugin(arg) {
        return Ok(DevCrate {
            id: package.id.clone(),
            package: package.name.clone(),
            plugin_name: package.plugin_name.clone(),
            version: package.version.clone(),
            manifest_path: package.dir.join("Cargo.toml"),
            dir: package.dir.clone(),
            cwd: workspace.root.clone(),
            outside_workspace: false,
        });
    }
    let cwd = env::current_dir().context("cannot read the current directory")?;
    let dir = cwd
        .join(arg)
        .canonicalize()
        .with_context(|| format!("`{arg}` is neither a workspace plugin nor a directory"))?;
    if workspace.member_at(&dir).is_some() {
        // A member that is no plugin: find_plugin's error says why.
        workspace.find_plugin(&dir.display().to_string())?;
    }
    let plugin = external::inspect(&dir, &workspace.sdk)?;
    Ok(DevCrate {
        id: plugin.id,
        package: plugin.name,
        plugin_name: plugin.plugin_name,
        version: plugin.version,
        manifest_path: plugin.manifest_path,
        cwd: plugin.dir.clone(),
        dir: plugin.dir,
        outside_workspace: true,
    })
}

/// `127.0.0.1:8081` or `http://127.0.0.1:8081/`.
fn parse_addr(text: &str) -> anyhow::Result<SocketAddr> {
    let bare = text.trim_start_matches("http://").trim_end_matches('/');
    bare.parse()
        .with_context(|| format!("`{text}` is not an address like 127.0.0.1:8081"))
}
