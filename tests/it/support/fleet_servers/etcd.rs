//! A real etcd cluster of N members on 127.0.0.1, for the fleet tests: members can be killed
//! and started again on the same ports and data, to show what the hosts do when etcd fails.

use std::{
    ffi::OsString,
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use tempfile::TempDir;

use super::{
    ports::free_port,
    server_process::{Check, ServerProcess, http_get, wait_ready},
};

/// How often a start is tried on fresh ports when another process took one of them.
const PORT_ATTEMPTS: u32 = 3;
/// How long one `etcdctl` command may take.
const ETCDCTL_PATIENCE: Duration = Duration::from_secs(30);

/// Numbers the clusters of this process, so each gets its own cluster token.
static CLUSTERS: AtomicU32 = AtomicU32::new(0);

/// An etcd cluster; every member is SIGKILLed when it is dropped.
///
/// Members are started from the calling thread and die with it (`PR_SET_PDEATHSIG`): call
/// [`EtcdCluster::start`] and the restarting methods from the test itself, not from a
/// `spawn_blocking` thread that ends before the test does.
pub struct EtcdCluster {
    members: Vec<Member>,
    // After `members`: fields drop in order, so the processes die before their data goes.
    dir: TempDir,
}

struct Member {
    client_url: String,
    process: ServerProcess,
}

impl EtcdCluster {
    /// Starts a new cluster of `members` members (each with its own data directory) and
    /// waits until every member reports itself healthy; panics with the members' logs when
    /// that does not happen in a bounded number of checks.
    pub async fn start(members: usize) -> Self {
        assert!(members > 0, "an etcd cluster needs at least one member");
        for attempt in 1..=PORT_ATTEMPTS {
            let mut cluster = Self::spawn(members);
            match cluster.check_healthy().await {
                Ok(()) => return cluster,
                Err(why) if attempt < PORT_ATTEMPTS && cluster.a_port_was_taken() => {
                    eprintln!("etcd cluster start {attempt} lost a port, again on new ones: {why}");
                }
                Err(why) => panic!("{why}\n{}", cluster.logs()),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// The client URL of every member, running or not (`http://127.0.0.1:PORT`).
    pub fn client_urls(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    /// The client URLs of the members running now.
    pub fn running_client_urls(&self) -> Vec<String> {
        self.members
            .iter()
            .filter(|m| m.process.is_started())
            .map(|m| m.client_url.clone())
            .collect()
    }

    /// The index of the member that leads the cluster now, as the running members report
    /// it (`etcdctl endpoint status`); panics when none of them names a running member.
    pub async fn leader_index(&self) -> usize {
        let status = self
            .etcdctl(&["endpoint", "status", "--write-out=json"])
            .await;
        let statuses: Vec<serde_json::Value> =
            serde_json::from_str(&status).unwrap_or_else(|error| panic!("{error}: {status}"));
        let leader_endpoint = statuses.iter().find_map(|member| {
            let status = &member["Status"];
            let is_leader = status["leader"].as_u64().is_some()
                && status["leader"] == status["header"]["member_id"];
            is_leader.then(|| member["Endpoint"].as_str().unwrap_or_default().to_owned())
        });
        leader_endpoint
            .and_then(|endpoint| self.members.iter().position(|m| m.client_url == endpoint))
            .unwrap_or_else(|| panic!("no running member leads: {status}"))
    }

    /// SIGKILLs member `index` and reaps it (its data stays, for [`Self::restart_member`]).
    /// Async only to read like the other steps of a test: it returns once the member is gone.
    pub async fn kill_member(&mut self, index: usize) {
        self.members[index].process.kill();
    }

    /// Starts member `index` again (same ports, same data) and waits until every running
    /// member is healthy.
    pub async fn restart_member(&mut self, index: usize) {
        if !self.members[index].process.is_started() {
            self.members[index].process.spawn();
        }
        self.wait_healthy().await;
    }

    /// SIGKILLs every member and reaps them; the data stays, for [`Self::start_all`].
    pub async fn stop_all(&mut self) {
        for member in &mut self.members {
            member.process.kill();
        }
    }

    /// Starts every stopped member again (same ports, same data: a member whose data
    /// directory holds a write-ahead log rejoins its cluster and ignores the
    /// `--initial-cluster*` flags) and waits until all are healthy.
    pub async fn start_all(&mut self) {
        for member in &mut self.members {
            if !member.process.is_started() {
                member.process.spawn();
            }
        }
        self.wait_healthy().await;
    }

    /// Waits until every running member answers `GET /health` with `{"health":"true"}` (so
    /// the cluster has a leader and a quorum); panics with the logs when that does not
    /// happen in a bounded number of checks, or when a member exits.
    pub async fn wait_healthy(&mut self) {
        if let Err(why) = self.check_healthy().await {
            panic!("{why}\n{}", self.logs());
        }
    }

    /// Runs `etcdctl` (API v3) against the running members; its stdout. Panics with its
    /// stderr and the members' logs when it fails.
    pub async fn etcdctl(&self, args: &[&str]) -> String {
        self.try_etcdctl(args)
            .await
            .unwrap_or_else(|why| panic!("{why}\n{}", self.logs()))
    }

    /// Runs `etcdctl` (API v3) against the running members; its stdout, or what went wrong.
    pub async fn try_etcdctl(&self, args: &[&str]) -> Result<String, String> {
        let endpoints = self.running_client_urls().join(",");
        let run = tokio::process::Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoints}"))
            .args(["--dial-timeout=5s", "--command-timeout=10s"])
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(ETCDCTL_PATIENCE, run)
            .await
            .map_err(|_| format!("etcdctl {args:?} did not end within {ETCDCTL_PATIENCE:?}"))?
            .map_err(|error| format!("etcdctl {args:?} did not start: {error}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "etcdctl {args:?} failed ({}): {}{stdout}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// The tail of every member's log, for failure messages.
    pub fn logs(&self) -> String {
        let tails: Vec<String> = self.members.iter().map(|m| m.process.log_tail()).collect();
        tails.join("\n")
    }

    /// Picks ports and starts every member of a new cluster; returns at once.
    fn spawn(members: usize) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("fleet-etcd-")
            .tempdir()
            .expect("create the etcd cluster's directory");
        let ports: Vec<(u16, u16)> = (0..members).map(|_| (free_port(), free_port())).collect();
        let peer_url = |peer_port: u16| format!("http://127.0.0.1:{peer_port}");
        let initial_cluster = ports
            .iter()
            .enumerate()
            .map(|(index, (_, peer_port))| format!("m{index}={}", peer_url(*peer_port)))
            .collect::<Vec<_>>()
            .join(",");
        let token = format!(
            "frontdoor-test-{}-{}",
            std::process::id(),
            CLUSTERS.fetch_add(1, Ordering::Relaxed)
        );
        let mut members: Vec<Member> = ports
            .iter()
            .enumerate()
            .map(|(index, &(client_port, peer_port))| {
                let name = format!("m{index}");
                let client_url = format!("http://127.0.0.1:{client_port}");
                let args: Vec<OsString> = [
                    format!("--name={name}"),
                    format!("--listen-client-urls={client_url}"),
                    format!("--advertise-client-urls={client_url}"),
                    format!("--listen-peer-urls={}", peer_url(peer_port)),
                    format!("--initial-advertise-peer-urls={}", peer_url(peer_port)),
                    format!("--initial-cluster={initial_cluster}"),
                    "--initial-cluster-state=new".to_owned(),
                    format!("--initial-cluster-token={token}"),
                    "--logger=zap".to_owned(),
                    "--log-outputs=stderr".to_owned(),
                ]
                .into_iter()
                .map(OsString::from)
                .chain([
                    OsString::from("--data-dir"),
                    dir.path().join(&name).into_os_string(),
                ])
                .collect();
                let log_path = dir.path().join(format!("{name}.log"));
                Member {
                    client_url,
                    process: ServerProcess::new(format!("etcd {name}"), "etcd", args, log_path),
                }
            })
            .collect();
        for member in &mut members {
            member.process.spawn();
        }
        Self { members, dir }
    }

    /// Checks, a bounded number of times, that every running member is healthy.
    async fn check_healthy(&mut self) -> Result<(), String> {
        let members = &mut self.members;
        wait_ready("etcd cluster healthy", || {
            let exited: Vec<String> = members
                .iter_mut()
                .filter_map(|m| m.process.exited())
                .collect();
            let urls: Vec<String> = members
                .iter()
                .filter(|m| m.process.is_started())
                .map(|m| m.client_url.clone())
                .collect();
            async move {
                if !exited.is_empty() {
                    return Check::Failed(exited.join("; "));
                }
                for url in urls {
                    let health = format!("{url}/health");
                    match http_get(&health).await {
                        Ok((200, body)) if is_healthy(&body) => {}
                        Ok((status, body)) => {
                            let body = String::from_utf8_lossy(&body);
                            return Check::NotYet(format!("{health}: {status} {body}"));
                        }
                        Err(error) => return Check::NotYet(error),
                    }
                }
                Check::Ready
            }
        })
        .await
        .map_err(|why| format!("{why} (cluster in {})", self.dir.path().display()))
    }

    fn a_port_was_taken(&self) -> bool {
        self.members.iter().any(|m| m.process.port_was_taken())
    }
}

/// Whether a `/health` body says `{"health":"true"}`.
fn is_healthy(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|health| health["health"] == "true")
}
