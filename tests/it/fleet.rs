//! Fleet mode's real servers: the etcd cluster and the S3 store the fleet tests start
//! behave as the tests rely on (a member can die, data outlives restarts, objects can be
//! tampered with behind the S3 API's back); and [`FleetToml`], a host's fleet
//! configuration for those servers.

use std::time::Instant;

use crate::support::{EtcdCluster, S3Server, get};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_start_and_a_member_can_die() {
    let started = Instant::now();
    let mut etcd = EtcdCluster::start(3).await;
    // For the reader of the test output (how long a start takes here); never asserted.
    eprintln!(
        "a 3-member etcd cluster was healthy {} ms after the start",
        started.elapsed().as_millis()
    );
    assert_eq!(etcd.client_urls().len(), 3);
    assert_eq!(
        etcd.etcdctl(&["put", "/fleet-test/a", "one"]).await.trim(),
        "OK"
    );
    assert_eq!(value(&etcd, "/fleet-test/a").await, "one");

    etcd.kill_member(0).await;
    assert_eq!(etcd.running_client_urls().len(), 2);
    // The two left keep (or elect) a leader: a quorum of three.
    etcd.wait_healthy().await;
    assert_eq!(
        etcd.etcdctl(&["put", "/fleet-test/b", "two"]).await.trim(),
        "OK"
    );
    assert_eq!(value(&etcd, "/fleet-test/a").await, "one");
    assert_eq!(value(&etcd, "/fleet-test/b").await, "two");

    // Member 0 back: it rejoins, and a read through it alone sees what was written
    // without it.
    etcd.restart_member(0).await;
    let member_0 = etcd.client_urls()[0].clone();
    let on_member_0 = etcd
        .etcdctl(&[
            &format!("--endpoints={member_0}"),
            "get",
            "--print-value-only",
            "/fleet-test/b",
        ])
        .await;
    assert_eq!(on_member_0.trim(), "two");

    etcd.stop_all().await;
    assert!(etcd.running_client_urls().is_empty());
    let restarted = Instant::now();
    etcd.start_all().await;
    eprintln!(
        "the stopped cluster was healthy again {} ms after the restart",
        restarted.elapsed().as_millis()
    );
    assert_eq!(etcd.running_client_urls(), etcd.client_urls());
    assert_eq!(value(&etcd, "/fleet-test/a").await, "one");
    assert_eq!(value(&etcd, "/fleet-test/b").await, "two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_server_stores_and_returns_objects() {
    let started = Instant::now();
    let mut s3 = S3Server::start().await;
    eprintln!(
        "SeaweedFS answered {} ms after the start",
        started.elapsed().as_millis()
    );
    s3.create_bucket("frontdoor").await;
    let key = "frontdoor/artifacts/sha256/00ff";
    s3.put_object("frontdoor", key, b"the artifact".to_vec())
        .await;
    assert_eq!(
        s3.get_object("frontdoor", key).await.as_deref(),
        Some(&b"the artifact"[..])
    );
    assert_eq!(s3.get_object("frontdoor", "no/such/object").await, None);

    // The S3 API itself wants signed requests.
    let anonymous = get(&format!("{}/frontdoor/{key}", s3.endpoint())).await;
    assert_eq!(anonymous.status, 403, "{:?}", anonymous.body);

    // Tampering: the object is overwritten in place.
    s3.put_object("frontdoor", key, b"tampered".to_vec()).await;
    assert_eq!(
        s3.get_object("frontdoor", key).await.as_deref(),
        Some(&b"tampered"[..])
    );

    s3.stop().await;
    let restarted = Instant::now();
    s3.start_again().await;
    eprintln!(
        "SeaweedFS answered again {} ms after the restart",
        restarted.elapsed().as_millis()
    );
    assert_eq!(
        s3.get_object("frontdoor", key).await.as_deref(),
        Some(&b"tampered"[..])
    );
    s3.delete_object("frontdoor", key).await;
    assert_eq!(s3.get_object("frontdoor", key).await, None);

    // The fleet's TOML names this store, with credentials it accepts.
    let mut fleet = FleetToml::new(vec!["http://127.0.0.1:1".into()], &s3, "frontdoor").team(
        "tv-team",
        "RWQ-not-a-real-key\"",
        &["tv", "tv-shared"],
    );
    fleet.host_id = Some("host-a".into());
    fleet
        .more_fleet_keys
        .push(("max_backoff_ms".into(), "250".into()));
    let parsed: toml::Table = toml::from_str(&fleet.to_toml()).expect("the fleet TOML parses");
    let expected: toml::Table = toml::from_str(&format!(
        r#"
        [admin_auth.owners]
        tv = "tv-team"
        tv-shared = "tv-team"
        [fleet]
        host_id = "host-a"
        etcd = ["http://127.0.0.1:1"]
        prefix = "/frontdoor"
        lease_ttl_secs = 10
        max_backoff_ms = 250
        [fleet.store]
        endpoint = "{}"
        bucket = "frontdoor"
        region = "us-east-1"
        access_key_id = "{}"
        secret_access_key = "{}"
        [fleet.keys]
        tv-team = ['RWQ-not-a-real-key"']
        "#,
        s3.endpoint(),
        s3.access_key_id(),
        s3.secret_access_key()
    ))
    .expect("the expected TOML parses");
    assert_eq!(parsed, expected, "{}", fleet.to_toml());
}

/// The value of `key`, read through the cluster's running members (linearizable).
async fn value(etcd: &EtcdCluster, key: &str) -> String {
    let value = etcd.etcdctl(&["get", "--print-value-only", key]).await;
    value.trim().to_owned()
}

/// A host's fleet configuration as TOML, for fleet tests: the `[fleet]` table with
/// `[fleet.store]` and `[fleet.keys]` as the fleet spec lays them out, and
/// `[admin_auth.owners]` naming each plugin's team. Built with [`FleetToml::new`] and
/// [`FleetToml::team`]; the fields are public for a test that wants something else.
pub struct FleetToml {
    /// `fleet.host_id`; left out when `None` (the host's default, or `--set` per host).
    pub host_id: Option<String>,
    pub etcd: Vec<String>,
    pub prefix: String,
    pub lease_ttl_secs: u64,
    /// More `[fleet]` keys, each with its value as TOML text (`("max_backoff_ms", "250")`).
    pub more_fleet_keys: Vec<(String, String)>,
    pub store_endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `[fleet.keys]`: team → minisign public keys (the `RW...` base64 lines).
    pub keys: Vec<(String, Vec<String>)>,
    /// `[admin_auth.owners]`: plugin name → team.
    pub owners: Vec<(String, String)>,
}

impl FleetToml {
    /// The fleet of the etcd members at `etcd` (see [`EtcdCluster::client_urls`]) and of
    /// `bucket` on `s3`, with the spec's default prefix and lease, and no team yet.
    pub fn new(etcd: Vec<String>, s3: &S3Server, bucket: &str) -> Self {
        Self {
            host_id: None,
            etcd,
            prefix: "/frontdoor".into(),
            lease_ttl_secs: 10,
            more_fleet_keys: Vec::new(),
            store_endpoint: s3.endpoint(),
            bucket: bucket.into(),
            region: s3.region().into(),
            access_key_id: s3.access_key_id().into(),
            secret_access_key: s3.secret_access_key().into(),
            keys: Vec::new(),
            owners: Vec::new(),
        }
    }

    /// Adds `team` with its minisign public key, as the owner of every plugin in `plugins`.
    pub fn team(mut self, team: &str, public_key: &str, plugins: &[&str]) -> Self {
        self.keys.push((team.into(), vec![public_key.into()]));
        for plugin in plugins {
            self.owners.push(((*plugin).into(), team.into()));
        }
        self
    }

    /// The TOML text.
    pub fn to_toml(&self) -> String {
        let mut text = String::from("[admin_auth.owners]\n");
        for (plugin, team) in &self.owners {
            text += &format!("{} = {}\n", quoted(plugin), quoted(team));
        }
        text += "\n[fleet]\n";
        if let Some(host_id) = &self.host_id {
            text += &format!("host_id = {}\n", quoted(host_id));
        }
        text += &format!("etcd = {}\n", quoted_list(&self.etcd));
        text += &format!("prefix = {}\n", quoted(&self.prefix));
        text += &format!("lease_ttl_secs = {}\n", self.lease_ttl_secs);
        for (key, value) in &self.more_fleet_keys {
            text += &format!("{key} = {value}\n");
        }
        text += "\n[fleet.store]\n";
        text += &format!("endpoint = {}\n", quoted(&self.store_endpoint));
        text += &format!("bucket = {}\n", quoted(&self.bucket));
        text += &format!("region = {}\n", quoted(&self.region));
        text += &format!("access_key_id = {}\n", quoted(&self.access_key_id));
        text += &format!("secret_access_key = {}\n", quoted(&self.secret_access_key));
        text += "\n[fleet.keys]\n";
        for (team, keys) in &self.keys {
            text += &format!("{} = {}\n", quoted(team), quoted_list(keys));
        }
        text
    }
}

/// `text` as a TOML basic string.
fn quoted(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted += "\\\"",
            '\\' => quoted += "\\\\",
            c if c.is_control() => quoted += &format!("\\u{:04X}", u32::from(c)),
            c => quoted.push(c),
        }
    }
    quoted + "\""
}

/// `items` as a TOML array of basic strings.
fn quoted_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|item| quoted(item)).collect();
    format!("[{}]", items.join(", "))
}
