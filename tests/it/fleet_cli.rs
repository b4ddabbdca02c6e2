//! The fleet's command line as the README shows it, run as the real binary against a real
//! etcd and S3 store: `frontdoor fleet publish` of a signed artifact (again: already
//! published; signed by a key no team has: refused with the reason), `status` (the
//! published versions as JSON), `unpublish` (again: not published; a bad version: refused
//! before anything is asked of etcd), and a publish after the bucket's object was altered
//! puts the right bytes back.

use std::{path::Path, process::Output};

use crate::{
    fleet::FleetToml,
    support::{
        EtcdCluster, Fixture, S3Server,
        signing::{TeamKey, hex_digest},
    },
};

const BUCKET: &str = "frontdoor";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_status_and_unpublish_from_the_command_line() {
    let etcd = EtcdCluster::start(1).await;
    let s3 = S3Server::start().await;
    s3.create_bucket(BUCKET).await;
    let dir = tempfile::tempdir().expect("run dir");
    let team = TeamKey::new("tv-team");
    let stranger = TeamKey::new("tv-team");
    let config = dir.path().join("frontdoor.toml");
    let toml =
        FleetToml::new(etcd.client_urls(), &s3, BUCKET).team("tv-team", &team.public(), &["echo"]);
    std::fs::write(&config, toml.to_toml()).expect("config");
    let signed_dir = dir.path().join("signed");
    let forged_dir = dir.path().join("forged");
    for dir in [&signed_dir, &forged_dir] {
        std::fs::create_dir_all(dir).expect("dir");
    }
    let artifact = team.sign_into(
        &signed_dir,
        Fixture::Echo("1.0.0"),
        "echo-1.0.0.so",
        "echo",
        "1.0.0",
    );
    let artifact = artifact.to_str().expect("a UTF-8 path");

    let published = succeeds(fleet(&config, &["publish", artifact]).await);
    assert!(
        published.starts_with("published echo@1.0.0 sha256="),
        "{published}"
    );
    let again = succeeds(fleet(&config, &["publish", artifact]).await);
    assert!(again.starts_with("already published echo@1.0.0"), "{again}");
    let forged = stranger.sign_into(
        &forged_dir,
        Fixture::Echo("1.1.0"),
        "echo-1.1.0.so",
        "echo",
        "1.1.0",
    );
    let refused = fails(fleet(&config, &["publish", forged.to_str().expect("UTF-8")]).await);
    assert!(refused.contains("not made by any key of team"), "{refused}");

    let status: serde_json::Value =
        serde_json::from_str(&succeeds(fleet(&config, &["status"]).await)).expect("JSON");
    assert_eq!(status["etcd"], "ok", "{status}");
    let desired = status["desired"].as_array().expect("desired versions");
    assert_eq!(desired.len(), 1, "{status}");
    assert_eq!(
        (desired[0]["name"].as_str(), desired[0]["version"].as_str()),
        (Some("echo"), Some("1.0.0")),
        "{status}"
    );

    let unpublished = succeeds(fleet(&config, &["unpublish", "echo", "1.0.0"]).await);
    assert_eq!(unpublished, "unpublished echo@1.0.0");
    let not_there = fails(fleet(&config, &["unpublish", "echo", "1.0.0"]).await);
    assert!(
        not_there.contains("echo@1.0.0 is not published"),
        "{not_there}"
    );
    let bad_version = fleet(&config, &["unpublish", "echo", "1.0"]).await;
    assert!(!bad_version.status.success());
    assert!(
        String::from_utf8_lossy(&bad_version.stderr).contains("invalid value '1.0'"),
        "{}",
        String::from_utf8_lossy(&bad_version.stderr)
    );

    // Published again after its object was altered in the bucket: the publisher finds the
    // object is not these bytes and uploads them again (an intact one is not uploaded).
    let object = format!(
        "frontdoor/artifacts/sha256/{}",
        hex_digest(&std::fs::read(artifact).expect("artifact"))
    );
    let original = s3
        .get_object(BUCKET, &object)
        .await
        .expect("the uploaded object");
    // Same size, one byte flipped: only the digest tells.
    let mut altered = original.clone();
    altered[original.len() / 2] ^= 0xff;
    s3.put_object(BUCKET, &object, altered).await;
    let republished = succeeds(fleet(&config, &["publish", artifact]).await);
    assert!(
        republished.starts_with("published echo@1.0.0"),
        "{republished}"
    );
    assert!(
        s3.get_object(BUCKET, &object).await.as_deref() == Some(&original[..]),
        "the altered object was not replaced"
    );
    succeeds(fleet(&config, &["unpublish", "echo", "1.0.0"]).await);
    let status: serde_json::Value =
        serde_json::from_str(&succeeds(fleet(&config, &["status"]).await)).expect("JSON");
    assert_eq!(status["desired"], serde_json::json!([]), "{status}");
}

/// Runs `frontdoor fleet --config CONFIG ARGS...` to its end (bounded).
async fn fleet(config: &Path, args: &[&str]) -> Output {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_frontdoor-under-test"))
        .arg("fleet")
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("FRONTDOOR_CONFIG")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    crate::support::within(&format!("frontdoor fleet {args:?}"), run)
        .await
        .expect("run frontdoor fleet")
}

/// The stdout of a run that must succeed, trimmed.
fn succeeds(output: Output) -> String {
    assert!(
        output.status.success(),
        "exit {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The stderr of a run that must fail with exit code 1.
fn fails(output: Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}
