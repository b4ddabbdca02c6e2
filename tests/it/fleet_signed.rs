//! Fleet mode's loading rules, on a host whose etcd and store are unreachable (it starts
//! anyway and serves its plugins directory): only artifacts signed by a key of the team that
//! owns the name load; an unsigned file, a file changed after signing, a signature by
//! another team's key, and a plugin that is not the name and version it was signed as are
//! refused with the reason, and never replace what serves.

use std::path::Path;

use frontdoor::HostConfig;

use crate::support::{Fixture, TestHost, console_session, get, signing::TeamKey};

/// A host in fleet mode (nothing listens at its etcd or store), trusting `tv-team` for
/// `echo` and `mobile-team` for `mobile`.
async fn fleet_host(dir: tempfile::TempDir, team: &TeamKey, other: &TeamKey) -> TestHost {
    let config_dir = tempfile::tempdir().expect("config dir");
    let config_file = config_dir.path().join("frontdoor.toml");
    std::fs::write(
        &config_file,
        format!(
            r#"
[admin_auth.owners]
echo = "{team}"
mobile = "{other}"

[fleet]
etcd = ["http://127.0.0.1:1"]
request_timeout_ms = 200
max_backoff_ms = 200

[fleet.store]
endpoint = "http://127.0.0.1:1"
bucket = "frontdoor"

[fleet.keys]
{team} = ["{team_key}"]
{other} = ["{other_key}"]
"#,
            team = team.team,
            other = other.team,
            team_key = team.public(),
            other_key = other.public(),
        ),
    )
    .expect("config");
    let resolved = frontdoor::config::ServeArgs {
        config: Some(config_file),
        ..frontdoor::config::ServeArgs::default()
    }
    .resolve()
    .expect("fleet config");
    TestHost::start_with(dir, move |config: &mut HostConfig| {
        config.admin_auth = resolved.admin_auth;
        config.artifacts.trust = resolved.artifacts.trust;
        config.fleet = resolved.fleet;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_artifacts_signed_by_their_owners_load_and_etcd_down_stops_nothing() {
    let tv = TeamKey::new("tv-team");
    let mobile = TeamKey::new("mobile-team");
    let dir = TestHost::plugins_dir();
    // Signed before the start: a host whose etcd is down serves its directory.
    tv.sign_into(
        dir.path(),
        Fixture::Echo("1.0.0"),
        "echo-1.0.0.so",
        "echo",
        "1.0.0",
    );
    let host = fleet_host(dir, &tv, &mobile).await;
    assert_eq!(get(&host.url("/echo/hello")).await.adapter(), "echo@1.0.0");
    let fleet = get(&host.admin_url("/admin/fleet")).await.json();
    assert!(
        fleet["etcd"]
            .as_str()
            .is_some_and(|state| state.starts_with("unreachable")),
        "{fleet}"
    );
    // The console's fleet page says so too, and shows this host alone.
    let (cookie, _) = console_session::login(&host.admin_url("/console/login"), "").await;
    let page = console_session::page(&host.admin_url("/console/fleet"), &cookie).await;
    let html = console_session::text(&page);
    assert_eq!(page.status, 200, "{html}");
    assert!(html.contains("etcd cannot be read"), "{html}");
    assert_eq!(html.matches("data-label=\"Host\">").count(), 1, "{html}");

    // Dropped by hand without a signature.
    Fixture::Echo("2.0.0").rename_into(host.dir(), "echo-2.0.0.so");
    let reason = host.wait_for_failure("echo-2.0.0.so", "no signature").await;
    assert!(reason.contains("not a trusted artifact"), "{reason}");

    // Changed after it was signed: the signature is for other bytes.
    let scratch = tempfile::tempdir().expect("scratch dir");
    let path = tv.sign_into(
        scratch.path(),
        Fixture::Echo("1.1.0"),
        "echo-1.1.0.so",
        "echo",
        "1.1.0",
    );
    let signature = frontdoor::loader::signature_path(&path);
    let mut bytes = std::fs::read(&path).expect("artifact");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    install(host.dir(), "echo-1.1.0.so", &bytes, &signature);
    host.wait_for_failure("echo-1.1.0.so", "does not match the bytes")
        .await;

    // Another team's key, claiming a name that team does not own.
    mobile.sign_into(
        host.dir(),
        Fixture::Echo("1.2.0"),
        "echo-1.2.0.so",
        "echo",
        "1.2.0",
    );
    host.wait_for_failure("echo-1.2.0.so", "owned by tv-team, not by team mobile-team")
        .await;

    // Signed as one version, but the plugin is another.
    tv.sign_into(
        host.dir(),
        Fixture::Echo("3.0.0"),
        "echo-3.0.0.so",
        "echo",
        "2.5.0",
    );
    host.wait_for_failure("echo-3.0.0.so", "signed as").await;

    // None of them replaced what serves.
    assert_eq!(get(&host.url("/echo/hello")).await.adapter(), "echo@1.0.0");

    // A properly signed new version takes over.
    tv.sign_into(
        host.dir(),
        Fixture::Echo("3.0.0"),
        "echo-3.0.1.so",
        "echo",
        "3.0.0",
    );
    host.wait_for_version("/echo/hello", "echo@3.0.0").await;
    host.stop().await;
}

/// Puts `bytes` in `dir` as `file_name` beside the signature at `signature` (moved).
fn install(dir: &Path, file_name: &str, bytes: &[u8], signature: &Path) {
    let path = dir.join(file_name);
    std::fs::rename(signature, frontdoor::loader::signature_path(&path)).expect("signature");
    let temporary = dir.join(format!(".{file_name}.tmp"));
    std::fs::write(&temporary, bytes).expect("artifact");
    std::fs::rename(&temporary, &path).expect("in place");
}
