//! A fleet end to end: a 3-member etcd cluster, an S3 server (SeaweedFS) and 3 real hosts,
//! all on loopback. One publish reaches every host; a rollback through one host's admin
//! API is followed by all; an artifact altered in the bucket, or signed by a key of no
//! configured team, is refused on every host with the reason while the previous version
//! serves; etcd's leader lost changes nothing (a change made during the election waits it
//! out); an unpublished version retires on every host; all of etcd lost leaves the hosts
//! serving (and a host restarted then serves its local directory), and they catch up when
//! etcd returns; a host that dies leaves the report. Every wait is a bounded poll of a
//! state.

use std::path::{Path, PathBuf};

use crate::support::{
    Fixture, HostProcess, console_session, eventually,
    fleet_servers::{EtcdCluster, S3Server},
    get, send,
    signing::{TeamKey, hex_digest},
};
use frontdoor::fleet::{
    FleetConfig,
    publish::{self, Published},
};
use hyper::Method;

const BUCKET: &str = "frontdoor";
const TEAM: &str = "tv-team";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_publish_reaches_every_host_and_the_fleet_outlives_etcd_failures() {
    let started = std::time::Instant::now();
    let phase = |what: &str| eprintln!("[{:>6.2} s] {what}", started.elapsed().as_secs_f64());
    let mut etcd = EtcdCluster::start(3).await;
    let s3 = S3Server::start().await;
    s3.create_bucket(BUCKET).await;
    let run = tempfile::tempdir().expect("run dir");
    let team = TeamKey::new(TEAM);
    // Claims to be the team, with a key the fleet does not know.
    let stranger = TeamKey::new(TEAM);
    let config_file = write_config(run.path(), &etcd.client_urls(), &s3.endpoint(), &team);
    let config = fleet_config(&config_file);

    let mut hosts = Vec::new();
    for index in 0..3 {
        hosts.push(start_host(run.path(), &config_file, index).await);
    }

    phase("hosts started");
    // One publish: every host serves it.
    assert_eq!(
        publish_signed(&config, run.path(), Fixture::Echo("1.0.0"), &team).await,
        "published echo@1.0.0"
    );
    phase("published 1.0.0");
    all_serve(&hosts, "echo@1.0.0").await;
    phase("1.0.0 served");
    // Publishing the same bytes again changes nothing; other bytes under a published
    // version are refused: versions are immutable.
    assert_eq!(
        publish_signed(&config, run.path(), Fixture::Echo("1.0.0"), &team).await,
        "already published echo@1.0.0"
    );
    let other_bytes = sign_as(run.path(), Fixture::Echo("1.1.0"), "echo", "1.0.0", &team);
    let refused = publish::publish(&config, &other_bytes)
        .await
        .expect_err("other bytes under a published version");
    assert!(
        refused.contains("already published with other bytes"),
        "{refused}"
    );
    publish_signed(&config, run.path(), Fixture::Echo("1.1.0"), &team).await;
    all_serve(&hosts, "echo@1.1.0").await;

    phase("published 1.0.0, 1.1.0");
    // Altered in the bucket after upload: refused on every host, with the reason; the
    // previous version serves on.
    let signed = sign_as(run.path(), Fixture::Echo("1.2.0"), "echo", "1.2.0", &team);
    let (record, bytes) = publish::read_signed(&config, &signed).expect("signed artifact");
    publish::upload(&config, &record, bytes.clone())
        .await
        .expect("upload");
    let mut altered = bytes.to_vec();
    let middle = altered.len() / 2;
    altered[middle] ^= 0xff;
    s3.put_object(BUCKET, &record.object, altered).await;
    publish::record_desired(&config, &record)
        .await
        .expect("recorded");
    all_report(&hosts, "echo@1.2.0", "failed", "altered or corrupt").await;
    all_serve(&hosts, "echo@1.1.0").await;

    phase("altered refused");
    // Signed by a key no team has: refused by the publisher and, recorded anyway (by
    // someone with etcd access), by every host.
    let forged = sign_as(
        run.path(),
        Fixture::Echo("2.0.0"),
        "echo",
        "2.0.0",
        &stranger,
    );
    let refused = publish::publish(&config, &forged)
        .await
        .expect_err("an unknown key");
    assert!(refused.contains("not made by any key of team"), "{refused}");
    let forged_bytes = std::fs::read(&forged).expect("forged artifact");
    let mut forged_record = record.clone();
    forged_record.version = semver::Version::new(2, 0, 0);
    forged_record.file_name = "echo-2.0.0.so".into();
    forged_record.sha256 = hex_digest(&forged_bytes);
    forged_record.object = format!("fleet-test/artifacts/sha256/{}", forged_record.sha256);
    forged_record.signature = std::fs::read_to_string(signature_of(&forged)).expect("sig");
    publish::upload(&config, &forged_record, forged_bytes.into())
        .await
        .expect("upload");
    publish::record_desired(&config, &forged_record)
        .await
        .expect("recorded");
    all_report(&hosts, "echo@2.0.0", "failed", "refused").await;
    all_serve(&hosts, "echo@1.1.0").await;

    phase("forged refused");
    // A rollback through one host's admin API: all three follow.
    let rollback = send(
        Method::POST,
        &hosts[0].admin_url("/admin/adapters/echo/rollback"),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(rollback.status, 200, "{:?}", rollback.body);
    all_serve(&hosts, "echo@1.0.0").await;

    phase("rolled back");
    // etcd's leader killed: a change made during the election that follows waits it out
    // (rather than answering 503), and changes still reach every host.
    let leader = etcd.leader_index().await;
    etcd.kill_member(leader).await;
    phase("leader killed");
    let unpin = send(
        Method::DELETE,
        &hosts[1].admin_url("/admin/adapters/echo/pin"),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(unpin.status, 200, "{:?}", unpin.body);
    phase("unpinned");
    all_serve(&hosts, "echo@1.1.0").await;
    phase("unpin followed");
    publish_signed(&config, run.path(), Fixture::Echo("3.0.0"), &team).await;
    all_serve(&hosts, "echo@3.0.0").await;

    phase("leader killed, unpinned, 3.0.0 published");
    // Unpublished: every host removes the file it installed and serves the version
    // before; published again (same bytes), every host installs it anew.
    let version_3 = semver::Version::new(3, 0, 0);
    assert!(
        publish::unpublish(&config, "echo", &version_3)
            .await
            .expect("unpublish")
    );
    all_serve(&hosts, "echo@1.1.0").await;
    for index in 0..hosts.len() {
        let installed = run.path().join(format!("plugins-{index}/echo-3.0.0.so"));
        assert!(
            !installed.exists(),
            "{} is still there",
            installed.display()
        );
    }
    phase("unpublished: back on 1.1.0");
    assert!(
        !publish::unpublish(&config, "echo", &version_3)
            .await
            .expect("unpublish"),
        "unpublished twice"
    );
    assert_eq!(
        publish_signed(&config, run.path(), Fixture::Echo("3.0.0"), &team).await,
        "published echo@3.0.0"
    );
    all_serve(&hosts, "echo@3.0.0").await;

    phase("unpublished and published again");
    // All of etcd stopped: the hosts serve on; a change is refused rather than made on
    // one host alone; a host started now serves what its directory holds.
    etcd.stop_all().await;
    all_serve(&hosts, "echo@3.0.0").await;
    let refused = send(
        Method::POST,
        &hosts[2].admin_url("/admin/adapters/echo/rollback"),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(refused.status, 503, "{:?}", refused.body);
    let restarted = hosts.pop().expect("three hosts");
    assert!(restarted.stop().await, "the host stops cleanly");
    hosts.push(start_host(run.path(), &config_file, 2).await);
    all_serve(&hosts, "echo@3.0.0").await;
    let fleet = get(&hosts[2].admin_url("/admin/fleet")).await.json();
    assert!(
        fleet["etcd"]
            .as_str()
            .is_some_and(|etcd| etcd.starts_with("unreachable")),
        "{fleet}"
    );

    phase("etcd stopped, host restarted");
    // etcd back: the hosts catch up with what is published next, and report in.
    etcd.start_all().await;
    let rollback = send(
        Method::POST,
        &hosts[2].admin_url("/admin/adapters/echo/rollback"),
        &[],
        Vec::new(),
    )
    .await;
    // The host may not have reconnected yet; its next attempt must get through.
    if rollback.status != 200 {
        eventually(
            "a change through the restarted host reaches the fleet",
            || {
                let url = hosts[2].admin_url("/admin/adapters/echo/rollback");
                async move {
                    let reply = send(Method::POST, &url, &[], Vec::new()).await;
                    expect(
                        reply.status == 200,
                        format!("{} {:?}", reply.status, reply.body),
                    )
                }
            },
        )
        .await;
    }
    all_serve(&hosts, "echo@1.1.0").await;
    eventually("every host reports to the fleet", || {
        let url = hosts[0].admin_url("/admin/fleet");
        async move {
            let fleet = get(&url).await.json();
            let hosts = fleet["hosts"].as_array().map_or(0, Vec::len);
            expect(fleet["etcd"] == "ok" && hosts == 3, fleet.to_string())
        }
    })
    .await;
    phase("caught up");
    // The console's fleet page on any host shows every host, none lagging, and what is
    // published.
    let (cookie, _) = console_session::login(&hosts[1].admin_url("/console/login"), "").await;
    eventually("the console shows the whole fleet in step", || {
        let url = hosts[1].admin_url("/console/fleet");
        let cookie = cookie.clone();
        async move {
            let html = console_session::text(&console_session::page(&url, &cookie).await);
            let all_there =
                (0..3).all(|index| html.contains(&format!("data-label=\"Host\">host-{index}")));
            expect(
                all_there
                    && html.contains("Published versions: 5.")
                    && html.contains("echo@3.0.0")
                    && !html.contains("lagging"),
                html,
            )
        }
    })
    .await;

    // A host that dies (SIGKILL: no goodbye) leaves the fleet's report when its lease runs
    // out.
    drop(hosts.pop());
    eventually("the dead host leaves the fleet's report", || {
        let url = hosts[0].admin_url("/admin/fleet");
        async move {
            let fleet = get(&url).await.json();
            let ids: Vec<&str> = fleet["hosts"]
                .as_array()
                .map(|hosts| hosts.iter().filter_map(|h| h["host_id"].as_str()).collect())
                .unwrap_or_default();
            expect(ids == ["host-0", "host-1"], fleet.to_string())
        }
    })
    .await;
    phase("dead host gone");
}

/// Starts host `index` of the fleet, with its own directories under `run`.
async fn start_host(run: &Path, config_file: &Path, index: usize) -> HostProcess {
    let plugins = run.join(format!("plugins-{index}"));
    let state = run.join(format!("state-{index}"));
    for dir in [&plugins, &state] {
        std::fs::create_dir_all(dir).expect("host dir");
    }
    let args: Vec<String> = vec![
        "serve".into(),
        "--config".into(),
        config_file.display().to_string(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--admin-listen".into(),
        "127.0.0.1:0".into(),
        "--plugins-dir".into(),
        plugins.display().to_string(),
        "--state-dir".into(),
        state.display().to_string(),
        "--set".into(),
        format!("fleet.host_id=\"host-{index}\""),
    ];
    let mut host = HostProcess::spawn_args(run, args, "info");
    host.wait_serving().await;
    host
}

/// The fleet's config: quick leases and back-off so the test's bounded waits are ample.
fn write_config(run: &Path, etcd: &[String], s3: &str, team: &TeamKey) -> PathBuf {
    let endpoints: Vec<String> = etcd.iter().map(|url| format!("{url:?}")).collect();
    let text = format!(
        r#"
[admin_auth.owners]
echo = "{TEAM}"

[fleet]
etcd = [{endpoints}]
prefix = "/fleet-test"
lease_ttl_secs = 2
max_backoff_ms = 250
request_timeout_ms = 3000

[fleet.store]
endpoint = "{s3}"
bucket = "{BUCKET}"

[fleet.keys]
{TEAM} = ["{key}"]
"#,
        endpoints = endpoints.join(", "),
        key = team.public(),
    );
    let path = run.join("frontdoor.toml");
    std::fs::write(&path, text).expect("config");
    path
}

fn fleet_config(config_file: &Path) -> FleetConfig {
    let args = frontdoor::config::ServeArgs {
        config: Some(config_file.to_owned()),
        ..frontdoor::config::ServeArgs::default()
    };
    args.resolve()
        .expect("the fleet config resolves")
        .fleet
        .expect("a [fleet] table")
}

/// Signs `fixture` as `name@version` with `key`, into a directory of that key's under
/// `run`; returns the artifact's path (its signature beside it).
fn sign_as(run: &Path, fixture: Fixture, name: &str, version: &str, key: &TeamKey) -> PathBuf {
    let dir = run.join(format!("signed-{}", hex_digest(key.public().as_bytes())));
    std::fs::create_dir_all(&dir).expect("signed dir");
    key.sign_into(
        &dir,
        fixture,
        &format!("{name}-{version}.so"),
        name,
        version,
    )
}

fn signature_of(path: &Path) -> PathBuf {
    frontdoor::loader::signature_path(path)
}

/// Signs `fixture` as what it is and publishes it; answers `published NAME@VERSION` or
/// `already published NAME@VERSION`.
async fn publish_signed(
    config: &FleetConfig,
    run: &Path,
    fixture: Fixture,
    key: &TeamKey,
) -> String {
    let Fixture::Echo(version) = fixture else {
        panic!("the fleet test publishes echo versions");
    };
    let path = sign_as(run, fixture, "echo", version, key);
    match publish::publish(config, &path).await.expect("published") {
        Published::New(record) => format!("published {}", record.plugin()),
        Published::Already(record) => format!("already published {}", record.plugin()),
    }
}

/// Waits until every host answers `/echo/hello` from `plugin`.
async fn all_serve(hosts: &[HostProcess], plugin: &str) {
    for host in hosts {
        let url = host.url("/echo/hello");
        eventually(&format!("{} serves {plugin}", host.device_addr), || {
            let url = url.clone();
            async move {
                let reply = get(&url).await;
                expect(
                    reply.status == 200 && reply.adapter() == plugin,
                    format!("{} from {:?}", reply.status, reply.adapter()),
                )
            }
        })
        .await;
    }
}

/// Waits until every host's own report shows `plugin` in `state` with a reason
/// containing `reason`.
async fn all_report(hosts: &[HostProcess], plugin: &str, state: &str, reason: &str) {
    for host in hosts {
        let url = host.admin_url("/admin/fleet");
        let host_id = hosts
            .iter()
            .position(|other| other.admin_addr == host.admin_addr)
            .map(|index| format!("host-{index}"))
            .unwrap_or_default();
        eventually(&format!("{host_id} reports {plugin} {state}"), || {
            let url = url.clone();
            let host_id = host_id.clone();
            async move {
                let fleet = get(&url).await.json();
                let versions = fleet["hosts"]
                    .as_array()
                    .and_then(|hosts| {
                        hosts
                            .iter()
                            .find(|report| report["host_id"] == host_id.as_str())
                    })
                    .map(|report| report["versions"].clone())
                    .unwrap_or_default();
                let found = versions.as_array().and_then(|versions| {
                    versions.iter().find(|version| {
                        format!(
                            "{}@{}",
                            version["name"].as_str().unwrap_or(""),
                            version["version"].as_str().unwrap_or("")
                        ) == plugin
                    })
                });
                expect(
                    found.is_some_and(|version| {
                        version["state"] == state
                            && version["reason"]
                                .as_str()
                                .is_some_and(|text| text.contains(reason))
                    }),
                    versions.to_string(),
                )
            }
        })
        .await;
    }
}

fn expect(condition: bool, otherwise: String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(otherwise) }
}
