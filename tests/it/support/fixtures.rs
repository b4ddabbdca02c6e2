//! Builds fixture and example plugins with cargo, once per test run, and hands out copies.
//!
//! Fixtures are built in debug mode into `target/fixtures` (a target directory of their
//! own, because the outer `cargo test` holds the lock on the main one). Variants of `echo`
//! with another version are real rebuilds with `ECHO_VERSION` set.

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
}

impl Fixture {
    fn package(self) -> &'static str {
        match self {
            Fixture::Bench => "bench",
            Fixture::Echo(_) => "echo",
            Fixture::NotAPlugin => "not-a-plugin",
            Fixture::IncompatibleApi => "incompatible-api",
            Fixture::FutureAbi => "future-abi",
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

fn target_dir() -> PathBuf {
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
        ])
        .arg("--target-dir")
        .arg(&fixtures_dir)
        .env_remove("ECHO_VERSION")
        .stdout(Stdio::piped());
    if let Fixture::Echo(version) = fixture {
        command.env("ECHO_VERSION", version);
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
    let kept = keep_dir.join(fixture.file_name());
    std::fs::copy(&built, &kept).expect("keep fixture artifact");
    kept
}
