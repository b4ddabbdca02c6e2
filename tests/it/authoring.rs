//! Author tooling end to end: `cargo xtask new-plugin` scaffolds an adapter into a
//! directory outside this workspace, `cargo xtask build-plugin` builds and installs it into
//! a running host's plugins directory, and the host serves it; crates that cannot be
//! plugins are refused with what is missing, before anything is built.
//!
//! The xtask binary is built once into `target/fixtures` (the outer `cargo test` holds the
//! lock on the main target directory). The scaffold compiles the SDK and its dependencies
//! into `target/scaffold`, shared across runs, as a team's crate would into its own.

use std::{
    fs,
    io::BufReader,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::OnceLock,
};

use cargo_metadata::Message;
use frontdoor::{HostConfig, backends::BackendConfig};
use frontdoor_sample_backends::{SampleConfig, Service};

use crate::support::{TestHost, fixtures::workspace_root, get};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adapter_scaffolded_outside_the_workspace_is_built_installed_and_answers() {
    let backends = frontdoor_sample_backends::start(SampleConfig { base_port: None })
        .await
        .expect("sample backends start");
    let profiles = BackendConfig::new("profiles", backends.url(Service::Profiles));
    let host = TestHost::with_config(&[], move |config: &mut HostConfig| {
        config.backends = vec![profiles];
    })
    .await;
    let outside = tempfile::Builder::new()
        .prefix("frontdoor-authoring-")
        .tempdir()
        .expect("temp dir");
    assert!(!outside.path().starts_with(workspace_root()));
    let crate_dir = outside.path().join("scaffolded");

    let scaffold = xtask(&["new-plugin", "scaffolded", "--dir"], &[&crate_dir]);
    assert_success(&scaffold, "new-plugin");
    assert!(crate_dir.join("Cargo.toml").is_file());
    assert!(crate_dir.join(".cargo/config.toml").is_file());

    // The scaffold's own tests (written with the test kit) pass as generated, with plain
    // `cargo test` in the new crate.
    let tested = {
        let crate_dir = crate_dir.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .current_dir(&crate_dir)
                .args(["test", "--offline"])
                .env("CARGO_TARGET_DIR", target_dir().join("scaffold"))
                .stdin(Stdio::null())
                .output()
                .expect("run cargo test")
        })
        .await
        .expect("test task")
    };
    assert_success(&tested, "the scaffold's cargo test");
    let summary = String::from_utf8_lossy(&tested.stdout);
    assert!(
        summary.contains("test result: ok. 4 passed"),
        "the scaffold's kit tests ran: {summary}"
    );

    let plugins_dir = host.dir().to_owned();
    let built = tokio::task::spawn_blocking(move || {
        xtask_in(
            &crate_dir,
            &["build-plugin", ".", "--debug", "--out"],
            &[&plugins_dir],
        )
    })
    .await
    .expect("build task");
    assert_success(&built, "build-plugin");

    host.wait_for_version("/scaffolded/hello", "scaffolded@0.1.0")
        .await;
    let reply = get(&host.url("/scaffolded/hello")).await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["adapter"], "scaffolded", "{body}");
    assert_eq!(body["degraded"], serde_json::json!([]), "{body}");
    assert!(
        body["greeting"]
            .as_str()
            .is_some_and(|greeting| greeting.starts_with("Hello, ")),
        "{body}"
    );

    // What landed in the plugins directory: the artifact under its plugin name, its debug
    // info in the hidden `.debug/`, and no temporary file.
    let mut names: Vec<String> = fs::read_dir(host.dir())
        .expect("plugins dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, [".debug", "scaffolded-0.1.0.so"]);
    assert!(
        host.dir()
            .join(".debug/scaffolded-0.1.0.so.debug")
            .is_file()
    );
}

#[test]
fn crates_that_cannot_be_plugins_are_refused_with_what_is_missing() {
    let dir = tempfile::Builder::new()
        .prefix("frontdoor-not-plugins-")
        .tempdir()
        .expect("temp dir");
    let sdk = workspace_root().join("plugin-api");
    let sdk_dependency = format!(
        "frontdoor-plugin-api = {{ path = {:?} }}",
        sdk.display().to_string()
    );
    let out = dir.path().join("plugins.d");
    let cases: [(&str, String, &str); 6] = [
        ("no-manifest", String::new(), "is not a package directory"),
        (
            "virtual",
            "[workspace]\nmembers = []\n".to_owned(),
            "is a workspace, not a package",
        ),
        (
            "rlib-only",
            package("rlib-only", "", &sdk_dependency, ""),
            "is not a cdylib",
        ),
        (
            "no-sdk",
            package("no-sdk", "[lib]\ncrate-type = [\"cdylib\"]\n", "", ""),
            "does not depend on frontdoor-plugin-api",
        ),
        (
            "aborts",
            package(
                "aborts",
                "[lib]\ncrate-type = [\"cdylib\"]\n",
                &sdk_dependency,
                "[profile.release]\npanic = \"abort\"\n",
            ),
            "panic = \"abort\"",
        ),
        (
            "old-sdk",
            package(
                "old-sdk",
                "[lib]\ncrate-type = [\"cdylib\"]\n",
                "frontdoor-plugin-api = { path = \"fake-sdk\" }",
                "",
            ),
            "resolves frontdoor-plugin-api 9.0.0",
        ),
    ];
    for (name, manifest, expected) in cases {
        let crate_dir = dir.path().join(name);
        fs::create_dir_all(crate_dir.join("src")).expect("crate dir");
        fs::write(crate_dir.join("src/lib.rs"), "").expect("lib.rs");
        if !manifest.is_empty() {
            fs::write(crate_dir.join("Cargo.toml"), &manifest).expect("manifest");
        }
        if name == "old-sdk" {
            // Another SDK release, by path: same package name, another major version.
            let fake = crate_dir.join("fake-sdk");
            fs::create_dir_all(fake.join("src")).expect("fake sdk");
            fs::write(fake.join("src/lib.rs"), "").expect("lib.rs");
            fs::write(
                fake.join("Cargo.toml"),
                "[package]\nname = \"frontdoor-plugin-api\"\nversion = \"9.0.0\"\nedition = \"2024\"\n",
            )
            .expect("fake sdk manifest");
        }
        if manifest.contains(&sdk_dependency) {
            // The SDK's dependencies pinned as this workspace pins them: no registry query.
            fs::copy(
                workspace_root().join("Cargo.lock"),
                crate_dir.join("Cargo.lock"),
            )
            .expect("seed lock");
        }
        let output = xtask(&["build-plugin", "--out"], &[&out, &crate_dir]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{name} was accepted: {stderr}");
        assert!(
            stderr.contains(expected),
            "{name}: expected {expected:?} in {stderr}"
        );
        assert!(
            !stderr.contains("Compiling"),
            "{name} was refused only after building: {stderr}"
        );
    }
    assert!(!out.exists(), "nothing was installed");
}

#[test]
fn new_plugin_never_overwrites_and_refuses_bad_names() {
    let dir = tempfile::Builder::new()
        .prefix("frontdoor-new-plugin-")
        .tempdir()
        .expect("temp dir");
    let taken = dir.path().join("taken");
    fs::create_dir_all(&taken).expect("dir");
    fs::write(taken.join("notes.txt"), "mine").expect("file");
    let output = xtask(&["new-plugin", "fresh", "--dir"], &[&taken]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not empty"));
    assert_eq!(
        fs::read_to_string(taken.join("notes.txt")).expect("kept"),
        "mine"
    );
    assert_eq!(fs::read_dir(&taken).expect("dir").count(), 1);

    for (name, expected) in [
        ("Bad_Name", "kebab-case"),
        ("tv", "already exists"),
        ("static-bench", "reserved"),
    ] {
        let target = dir.path().join("elsewhere");
        let output = xtask(&["new-plugin", name, "--dir"], &[&target]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{name} accepted");
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(!target.exists(), "{name}: nothing is written");
    }
}

/// A minimal package manifest.
fn package(name: &str, lib: &str, dependencies: &str, tail: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"1.0.0\"\nedition = \"2024\"\n\n{lib}\n[dependencies]\n{dependencies}\n\n{tail}\n[workspace]\n"
    )
}

/// Runs the xtask binary in the workspace root with `args` then `paths`.
fn xtask(args: &[&str], paths: &[&Path]) -> Output {
    xtask_in(&workspace_root(), args, paths)
}

/// Runs the xtask binary in `dir`, as `cargo xtask` would from there. Builds of crates
/// outside the workspace go to `target/scaffold`, shared by every run.
fn xtask_in(dir: &Path, args: &[&str], paths: &[&Path]) -> Output {
    Command::new(xtask_binary())
        .current_dir(dir)
        .args(args)
        .args(paths)
        .env("CARGO_TARGET_DIR", target_dir().join("scaffold"))
        .stdin(Stdio::null())
        .output()
        .expect("run xtask")
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The xtask executable, built once per run into `target/fixtures`.
fn xtask_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let mut child = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .current_dir(workspace_root())
                .args([
                    "build",
                    "--message-format=json-render-diagnostics",
                    "-p",
                    "xtask",
                    "--bin",
                    "xtask",
                ])
                .arg("--target-dir")
                .arg(target_dir().join("fixtures"))
                .stdout(Stdio::piped())
                .spawn()
                .expect("run cargo build for xtask");
            let stdout = child.stdout.take().expect("piped stdout");
            let executable = Message::parse_stream(BufReader::new(stdout))
                .filter_map(Result::ok)
                .filter_map(|message| match message {
                    Message::CompilerArtifact(artifact) => artifact.executable,
                    _ => None,
                })
                .last();
            assert!(
                child.wait().expect("wait for cargo").success(),
                "cargo build -p xtask failed"
            );
            executable
                .expect("cargo built an xtask executable")
                .into_std_path_buf()
        })
        .clone()
}
