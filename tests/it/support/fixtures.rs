//! Builds fixture and example plugins with cargo, once per test run, and hands out copies.
//!
//! Fixtures are built in debug mode into `target/fixtures` (a target directory of their
//! own, because the outer `cargo test` holds the lock on the main one). Variants (another
//! version, another requirement) are real rebuilds with the fixture's variables set.

use std::{
    collections::HashMap,
    io::BufReader,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Mutex, OnceLock},
};

use cargo_metadata::Message;

/// A plugin the tests can deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fixture {
    /// The `bench` example adapter (W1/W2).
    Bench,
    /// The `echo` test adapter at a given version.
    Echo(&'static str),
    /// A valid cdylib exporting no root module.
    NotAPlugin,
    /// A plugin whose root module has another layout.
    IncompatibleApi,
    /// A plugin whose manifest declares an ABI generation the host does not speak.
    FutureAbi,
    /// The real `artwork` 1.0.0 example (the 1.0 interface: box art only).
    Artwork10,
    /// The real `artwork` 2.0.0 example (the v2 interface).
    Artwork20,
    /// Shared module `artwork` with the v1.1 interface at the given version (panics on 666).
    ArtworkImpl(&'static str),
    /// The real `mobile` example adapter (requires `artwork ^2`).
    Mobile,
    /// The real `tv` example adapter (requires `artwork ^1.1`).
    Tv,
    /// Adapter `gallery` at a version, requiring `artwork` with a requirement (v1.1 interface).
    Gallery {
        version: &'static str,
        requirement: &'static str,
    },
    /// Adapter `gallery-pinned`: `artwork =1.0.0`, compiled against the 1.0 interface.
    GalleryPinned,
    /// Shared module `formatter` (text interface) at a version.
    Formatter(&'static str),
    /// Shared module `formatter` 1.0.0 with a bug: it panics on text shorter than 8 bytes,
    /// and has no hand-written guard against panics.
    PanickyFormatter,
    /// A text shared module named `name` that requires module `requires` with
    /// `requirement`.
    Facade {
        name: &'static str,
        requires: &'static str,
        requirement: &'static str,
    },
    /// Adapter `texter`, requiring `facade ^1`.
    Texter,
    /// The real `playback` example adapter.
    Playback,
    /// Adapter `misbehaver` at a version: panics, hangs, blocks, leaks on demand.
    Misbehaver(&'static str),
    /// `misbehaver` 1.0.0 built with `panic = "abort"`.
    MisbehaverPanicAbort,
    /// Adapter `canaried` at a version, with a build-time behaviour (`healthy`, `fail-20`,
    /// `slow-3x`, `changed-body`, `broken`).
    Canaried {
        version: &'static str,
        behaviour: &'static str,
    },
    /// Adapter `static-init` whose static initializer (run by `dlopen`) does what its
    /// [`StaticInit`] says.
    StaticInit(StaticInit),
    /// Adapter `warmer` at a version, whose warm-up does what its mode says
    /// (`call`, `error`, `panic`, `panic-start`, `hang`: see the fixture).
    Warmer {
        version: &'static str,
        mode: &'static str,
    },
    /// Adapter `initer` at a version, whose init hook does what its mode says (`config`,
    /// `error`, `panic`, `panic-start`, `hang`, `block`: see the fixture).
    Initer {
        version: &'static str,
        mode: &'static str,
    },
}

/// What the `static-init` fixture's static initializer does when the library is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaticInit {
    /// Panics: the process aborts (a panic cannot unwind out of `extern "C"`).
    Panic,
    /// `std::process::exit(3)`.
    Exit,
    /// Never returns.
    Hang,
    /// Returns: the fixed build.
    Fine,
}

/// Every variable a fixture build may read: cleared before each build, so a variant never
/// inherits another's settings.
const FIXTURE_ENV: [&str; 16] = [
    "INITER_VERSION",
    "INITER_MODE",
    "WARMER_VERSION",
    "WARMER_MODE",
    "STATIC_INIT",
    "ECHO_VERSION",
    "MISBEHAVER_VERSION",
    "ARTWORK_VERSION",
    "GALLERY_VERSION",
    "GALLERY_REQUIREMENT",
    "FORMATTER_VERSION",
    "FACADE_NAME",
    "FACADE_REQUIRES",
    "FACADE_REQUIREMENT",
    "CANARIED_VERSION",
    "CANARIED_BEHAVIOUR",
];

impl Fixture {
    fn package(self) -> &'static str {
        match self {
            Fixture::Bench => "bench",
            Fixture::Echo(_) => "echo",
            Fixture::NotAPlugin => "not-a-plugin",
            Fixture::IncompatibleApi => "incompatible-api",
            Fixture::FutureAbi => "future-abi",
            Fixture::Artwork10 => "artwork-1-0",
            Fixture::Artwork20 => "artwork-2",
            Fixture::ArtworkImpl(_) => "artwork-impl",
            Fixture::Mobile => "mobile",
            Fixture::Tv => "tv",
            Fixture::Gallery { .. } => "gallery",
            Fixture::GalleryPinned => "gallery-pinned",
            Fixture::Formatter(_) => "text-formatter",
            Fixture::PanickyFormatter => "text-panicky",
            Fixture::Facade { .. } => "text-facade",
            Fixture::Texter => "texter",
            Fixture::Playback => "playback",
            Fixture::Misbehaver(_) | Fixture::MisbehaverPanicAbort => "misbehaver",
            Fixture::StaticInit(_) => "static-init",
            Fixture::Canaried { .. } => "canaried",
            Fixture::Warmer { .. } => "warmer",
            Fixture::Initer { .. } => "initer",
        }
    }

    /// The cargo profile it is built with.
    fn profile(self) -> &'static str {
        match self {
            Fixture::MisbehaverPanicAbort => "fixture-panic-abort",
            _ => "dev",
        }
    }

    /// Build-time settings of this variant.
    fn env(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Fixture::Echo(version) => vec![("ECHO_VERSION", version)],
            Fixture::Misbehaver(version) => vec![("MISBEHAVER_VERSION", version)],
            Fixture::ArtworkImpl(version) => vec![("ARTWORK_VERSION", version)],
            Fixture::Gallery {
                version,
                requirement,
            } => {
                vec![
                    ("GALLERY_VERSION", version),
                    ("GALLERY_REQUIREMENT", requirement),
                ]
            }
            Fixture::Formatter(version) => vec![("FORMATTER_VERSION", version)],
            Fixture::Facade {
                name,
                requires,
                requirement,
            } => {
                vec![
                    ("FACADE_NAME", name),
                    ("FACADE_REQUIRES", requires),
                    ("FACADE_REQUIREMENT", requirement),
                ]
            }
            Fixture::Canaried { version, behaviour } => vec![
                ("CANARIED_VERSION", version),
                ("CANARIED_BEHAVIOUR", behaviour),
            ],
            Fixture::StaticInit(StaticInit::Panic) => vec![("STATIC_INIT", "panic")],
            Fixture::StaticInit(StaticInit::Exit) => vec![("STATIC_INIT", "exit")],
            Fixture::StaticInit(StaticInit::Hang) => vec![("STATIC_INIT", "hang")],
            Fixture::Warmer { version, mode } => {
                vec![("WARMER_VERSION", version), ("WARMER_MODE", mode)]
            }
            Fixture::Initer { version, mode } => {
                vec![("INITER_VERSION", version), ("INITER_MODE", mode)]
            }
            _ => Vec::new(),
        }
    }

    /// The artifact file name `cargo xtask build-plugin` would give it.
    pub fn file_name(self) -> String {
        match self {
            Fixture::Bench => "bench-1.0.0.so".into(),
            Fixture::Echo(version) => format!("echo-{version}.so"),
            Fixture::NotAPlugin => "not-a-plugin-1.0.0.so".into(),
            Fixture::IncompatibleApi => "incompatible-api-1.0.0.so".into(),
            Fixture::FutureAbi => "future-abi-1.0.0.so".into(),
            Fixture::Artwork10 => "artwork-1.0.0.so".into(),
            Fixture::Artwork20 => "artwork-2.0.0.so".into(),
            Fixture::ArtworkImpl(version) => format!("artwork-{version}.so"),
            Fixture::Mobile => "mobile-1.0.0.so".into(),
            Fixture::Tv => "tv-1.0.0.so".into(),
            Fixture::Gallery { version, .. } => format!("gallery-{version}.so"),
            Fixture::GalleryPinned => "gallery-pinned-1.0.0.so".into(),
            Fixture::Formatter(version) => format!("formatter-{version}.so"),
            Fixture::PanickyFormatter => "formatter-1.0.0.so".into(),
            Fixture::Facade { name, .. } => format!("{name}-1.0.0.so"),
            Fixture::Texter => "texter-1.0.0.so".into(),
            Fixture::Playback => "playback-1.0.0.so".into(),
            Fixture::Misbehaver(version) => format!("misbehaver-{version}.so"),
            Fixture::MisbehaverPanicAbort => "misbehaver-1.0.0.so".into(),
            Fixture::StaticInit(_) => "static-init-1.0.0.so".into(),
            Fixture::Canaried { version, .. } => format!("canaried-{version}.so"),
            Fixture::Warmer { version, .. } => format!("warmer-{version}.so"),
            Fixture::Initer { version, .. } => format!("initer-{version}.so"),
        }
    }

    /// The path of the built artifact (built on first use, then cached for the run).
    pub fn artifact(self) -> PathBuf {
        static BUILT: OnceLock<Mutex<HashMap<Fixture, PathBuf>>> = OnceLock::new();
        let mut built = BUILT
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(path) = built.get(&self) {
            return path.clone();
        }
        let path = build(self);
        built.insert(self, path.clone());
        path
    }

    /// Copies the artifact into `dir` under its conventional name; returns the new path.
    pub fn deploy_to(self, dir: &Path) -> PathBuf {
        self.deploy_as(dir, &self.file_name())
    }

    /// Drops the artifact into `dir` as `file_name` the way `cargo xtask build-plugin` does:
    /// written under a hidden temp name, then renamed into place (atomically replacing any
    /// file of that name).
    pub fn rename_into(self, dir: &Path, file_name: &str) -> PathBuf {
        let temp = dir.join(format!(".{file_name}.tmp"));
        std::fs::copy(self.artifact(), &temp).expect("copy fixture artifact");
        let target = dir.join(file_name);
        std::fs::rename(&temp, &target).expect("rename artifact into place");
        target
    }

    /// Copies the artifact into `dir` as `file_name`.
    pub fn deploy_as(self, dir: &Path, file_name: &str) -> PathBuf {
        let target = dir.join(file_name);
        std::fs::copy(self.artifact(), &target).expect("copy fixture artifact");
        target
    }
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn build(fixture: Fixture) -> PathBuf {
    let fixtures_dir = target_dir().join("fixtures");
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(workspace_root())
        .args([
            "build",
            "--message-format=json-render-diagnostics",
            "-p",
            fixture.package(),
            "--profile",
            fixture.profile(),
        ])
        .arg("--target-dir")
        .arg(&fixtures_dir)
        .stdout(Stdio::piped());
    for variable in FIXTURE_ENV {
        command.env_remove(variable);
    }
    for (variable, value) in fixture.env() {
        command.env(variable, value);
    }
    let mut child = command.spawn().expect("run cargo build for a fixture");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut built = None;
    for message in Message::parse_stream(BufReader::new(stdout)) {
        if let Ok(Message::CompilerArtifact(artifact)) = message
            && artifact.target.name.replace('-', "_") == fixture.package().replace('-', "_")
        {
            built = artifact
                .filenames
                .iter()
                .find(|file| file.as_str().ends_with(".so"))
                .map(|file| file.clone().into_std_path_buf());
        }
    }
    let status = child.wait().expect("wait for cargo");
    assert!(
        status.success(),
        "cargo build of fixture {fixture:?} failed"
    );
    let built = built.unwrap_or_else(|| panic!("cargo produced no .so for {fixture:?}"));
    // Keep each variant under its own name: the next variant's build overwrites cargo's.
    let keep_dir = fixtures_dir.join("artifacts");
    std::fs::create_dir_all(&keep_dir).expect("create artifacts dir");
    // The file name alone does not tell variants apart (two `gallery-1.0.0` may differ in
    // requirement): name the kept copy after the whole variant.
    let variant: String = format!("{fixture:?}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let kept = keep_dir.join(format!("{variant}.so"));
    std::fs::copy(&built, &kept).expect("keep fixture artifact");
    kept
}
