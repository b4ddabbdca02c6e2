//! `cargo xtask publish --dry-run` builds a workspace plugin, signs it and prints the
//! `frontdoor fleet publish` command it would run; it refuses what the hosts would refuse
//! before building anything.
//!
//! Builds go to `target/fixtures` (the outer `cargo test` holds the lock on the main target
//! directory), with the dev profile, as the workspace's integration tests build fixtures.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use xtask::signing::{TeamKey, sha256_hex};

use crate::support::{run, succeeds, xtask};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ has a parent")
        .to_owned()
}

/// `xtask publish PLUGIN --key KEY --team tv-team --config CONFIG --debug --dry-run`,
/// building into `target/fixtures`.
fn publish(plugin: &str, key: &Path, config: &Path, out: &Path) -> Command {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
        .join("fixtures");
    let mut command = xtask();
    command
        .args(["publish", plugin, "--key"])
        .arg(key)
        .args(["--team", "tv-team", "--config"])
        .arg(config)
        .arg("--out")
        .arg(out)
        .args(["--debug", "--dry-run"])
        .env("CARGO_TARGET_DIR", target_dir);
    command
}

/// A new key for tv-team, written into `dir`: the key and its secret key file.
fn write_key(dir: &Path) -> (TeamKey, PathBuf) {
    let key = TeamKey::generate().expect("key");
    let key_path = dir.join("tv-team.key");
    key.write_new("tv-team", &key_path, &dir.join("tv-team.pub"))
        .expect("key files");
    (key, key_path)
}

/// A host config in `dir` whose `[fleet.keys]` trusts `trusted` for tv-team.
fn write_config(dir: &Path, trusted: &TeamKey) -> PathBuf {
    let config = dir.join("frontdoor.toml");
    let line = format!("tv-team = [\"{}\"]", trusted.public_key_base64());
    fs::write(&config, format!("[fleet.keys]\n{line}\n")).expect("config");
    config
}

#[test]
fn a_dry_run_builds_and_signs_the_plugin_and_prints_the_publish_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (key, key_path) = write_key(dir.path());
    let config = write_config(dir.path(), &key);
    let out = dir.path().join("out");

    let printed = succeeds(&mut publish("tv", &key_path, &config, &out));
    let field = |label: &str| {
        printed
            .lines()
            .find_map(|line| line.strip_prefix(label))
            .unwrap_or_else(|| panic!("no `{label}` line in:\n{printed}"))
            .trim()
            .to_owned()
    };
    let artifact = PathBuf::from(field("artifact:"));
    let signature_path = PathBuf::from(field("signature:"));
    assert_eq!(artifact.parent(), Some(out.as_path()));
    let file_name = artifact
        .file_name()
        .and_then(|name| name.to_str())
        .expect("file name");
    let version = file_name
        .strip_prefix("tv-")
        .and_then(|rest| rest.strip_suffix(".so"))
        .unwrap_or_else(|| panic!("artifact named {file_name}"));
    assert_eq!(signature_path, out.join(format!("{file_name}.minisig")));

    let bytes = fs::read(&artifact).expect("artifact");
    let signature = minisign_verify::Signature::decode(
        &fs::read_to_string(&signature_path).expect("signature"),
    )
    .expect("signature");
    minisign_verify::PublicKey::from_base64(&key.public_key_base64())
        .expect("public key")
        .verify(&bytes, &signature, false)
        .expect("the host's verifier accepts the published signature");
    assert_eq!(
        signature.trusted_comment(),
        format!(
            "frontdoor-artifact name=tv version={version} team=tv-team kind=adapter sha256={}",
            sha256_hex(&bytes)
        )
    );

    let would_run = field("would run:");
    assert!(
        would_run.ends_with(&format!(
            "/debug/frontdoor fleet publish --config {} {}",
            config.display(),
            artifact.display()
        )),
        "{would_run}"
    );
}

#[test]
fn publish_refuses_before_building_when_the_config_does_not_trust_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, key_path) = write_key(dir.path());
    let config = write_config(dir.path(), &TeamKey::generate().expect("another key"));
    let out = dir.path().join("out");

    let refused = run(&mut publish("tv", &key_path, &config, &out));
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("does not list this key"), "{stderr}");
    assert!(!out.exists(), "nothing was built");
}
