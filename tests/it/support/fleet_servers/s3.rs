//! A real S3-compatible store on 127.0.0.1 for the fleet tests: SeaweedFS (`weed server`:
//! master, volume server, filer and S3 gateway in one process) with its data in a temporary
//! directory. Its S3 API wants requests signed with [`S3Server::access_key_id`] (anonymous
//! ones are refused); tests set up and tamper with objects through the filer's plain HTTP
//! API behind it, which the gateway serves from.

use std::ffi::OsString;

use hyper::Method;
use tempfile::TempDir;

use super::{
    ports::free_port,
    server_process::{Check, ServerProcess, http_get, http_request, wait_ready},
};

/// How often a start is tried on fresh ports when another process took one of them.
const PORT_ATTEMPTS: u32 = 3;
/// The credentials the S3 API accepts: those a host uses when `[fleet.store]` names none,
/// so a test config may leave them out and requests are still checked (a wrong secret is
/// refused).
const ACCESS_KEY_ID: &str = "frontdoor";
const SECRET_ACCESS_KEY: &str = "frontdoor";
const REGION: &str = "us-east-1";
/// Where the filer keeps the S3 buckets, one directory each.
const BUCKETS_DIR: &str = "/buckets";

/// A SeaweedFS server with its S3 gateway; SIGKILLed when dropped.
///
/// The server is started from the calling thread and dies with it (`PR_SET_PDEATHSIG`):
/// call [`S3Server::start`] and [`S3Server::start_again`] from the test itself, not from
/// a `spawn_blocking` thread that ends before the test does.
pub struct S3Server {
    process: ServerProcess,
    s3_port: u16,
    filer_port: u16,
    master_port: u16,
    /// The gRPC ports, which name the Unix sockets weed makes in /tmp whatever it is told.
    grpc_ports: GrpcPorts,
    // After `process`: fields drop in order, so the server dies before its data goes.
    dir: TempDir,
}

impl S3Server {
    /// Starts a server with no bucket and waits until its S3 gateway, filer and volume
    /// server all answer; panics with its log when that does not happen in a bounded number
    /// of checks.
    pub async fn start() -> Self {
        for attempt in 1..=PORT_ATTEMPTS {
            let mut server = Self::spawn();
            match server.check_ready().await {
                Ok(()) => return server,
                Err(why) if attempt < PORT_ATTEMPTS && server.process.port_was_taken() => {
                    eprintln!("SeaweedFS start {attempt} lost a port, again on new ones: {why}");
                }
                Err(why) => panic!("{why}\n{}", server.process.log_tail()),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// The S3 endpoint, `http://127.0.0.1:PORT` (path-style requests).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// The access key id the S3 API accepts (with [`Self::secret_access_key`]).
    pub fn access_key_id(&self) -> &'static str {
        ACCESS_KEY_ID
    }

    pub fn secret_access_key(&self) -> &'static str {
        SECRET_ACCESS_KEY
    }

    /// The region to sign for.
    pub fn region(&self) -> &'static str {
        REGION
    }

    /// Creates bucket `bucket` (an S3 bucket name: 3 to 63 lowercase letters, digits, `-`).
    pub async fn create_bucket(&self, bucket: &str) {
        assert!(
            (3..=63).contains(&bucket.len())
                && bucket
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{bucket:?} is not an S3 bucket name (3 to 63 of a-z, 0-9, -)"
        );
        let url = format!("{}/", self.filer_url(bucket, ""));
        self.expect_status(Method::POST, &url, Vec::new(), &[201])
            .await;
    }

    /// Writes (or overwrites) object `key` of `bucket` with `bytes`, unsigned, behind the
    /// S3 API's back: how a test tampers with an artifact in the store. `key` is used in
    /// the URL as it is (no escaping), like the fleet's keys (`a/b/c`).
    pub async fn put_object(&self, bucket: &str, key: &str, bytes: impl Into<Vec<u8>>) {
        let url = self.filer_url(bucket, key);
        self.expect_status(Method::PUT, &url, bytes.into(), &[200, 201])
            .await;
    }

    /// The bytes of object `key` of `bucket`; `None` when there is no such object.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let url = self.filer_url(bucket, key);
        match http_get(&url).await {
            Ok((200, body)) => Some(body.to_vec()),
            Ok((404, _)) => None,
            Ok((status, body)) => panic!(
                "GET {url}: {status} {}\n{}",
                String::from_utf8_lossy(&body),
                self.process.log_tail()
            ),
            Err(error) => panic!("GET {error}\n{}", self.process.log_tail()),
        }
    }

    /// Deletes object `key` of `bucket` (no error when there is none).
    pub async fn delete_object(&self, bucket: &str, key: &str) {
        let url = self.filer_url(bucket, key);
        self.expect_status(Method::DELETE, &url, Vec::new(), &[200, 204, 404])
            .await;
    }

    /// SIGKILLs the server and reaps it (its data stays, for [`Self::start_again`]). Not
    /// SIGTERM: weed's graceful stop waits over 15 s for its own streams.
    pub async fn stop(&mut self) {
        self.process.kill();
        self.grpc_ports.remove_sockets();
    }

    /// Starts the stopped server again (same ports, same data) and waits until it answers.
    pub async fn start_again(&mut self) {
        if !self.process.is_started() {
            self.process.spawn();
        }
        if let Err(why) = self.check_ready().await {
            panic!("{why}\n{}", self.process.log_tail());
        }
    }

    /// Picks ports, writes the S3 identities and starts the server; returns at once.
    fn spawn() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("fleet-s3-")
            .tempdir()
            .expect("create the S3 server's directory");
        // One identity, allowed everything; with an identity configured the gateway checks
        // every request's signature and refuses anonymous ones.
        let identities = serde_json::json!({"identities": [{
            "name": "frontdoor-fleet-test",
            "credentials": [{"accessKey": ACCESS_KEY_ID, "secretKey": SECRET_ACCESS_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]});
        let identities_path = dir.path().join("s3-identities.json");
        std::fs::write(&identities_path, identities.to_string()).expect("write the identities");
        let [
            master,
            master_grpc,
            volume,
            volume_grpc,
            filer,
            filer_grpc,
            s3,
            s3_grpc,
        ] = [(); 8].map(|()| free_port());
        let data_dir = dir.path().join("data");
        std::fs::create_dir(&data_dir).expect("create the data directory");
        let path_arg = |flag: &str, path: std::path::PathBuf| {
            let mut arg = OsString::from(format!("-{flag}="));
            arg.push(path);
            arg
        };
        let mut args: Vec<OsString> = vec!["server".into(), path_arg("dir", data_dir)];
        args.extend(
            [
                "-ip=127.0.0.1".to_owned(),
                "-ip.bind=127.0.0.1".to_owned(),
                // Every gRPC port explicit: weed's default (HTTP port + 10000) may be taken.
                format!("-master.port={master}"),
                format!("-master.port.grpc={master_grpc}"),
                // A single master resuming its raft state waits ~15 s for an election.
                "-master.resumeState=false".to_owned(),
                "-master.telemetry=false".to_owned(),
                // Small sparse volumes, enough of them for a few buckets (each bucket
                // grows 7) and a few hundred MiB of debug artifacts (the fleet's timing
                // test publishes 21 of about 20 MiB); nothing is preallocated.
                "-master.volumeSizeLimitMB=8".to_owned(),
                // weed marks every volume read-only when its disk has under 1 % free, and
                // writes then hang: a large build disk nearly full (2.4 GB free of 252 GB)
                // stalled every upload. The tests write a few hundred MiB at most.
                "-volume.minFreeSpace=512MiB".to_owned(),
                "-volume.max=256".to_owned(),
                format!("-volume.port={volume}"),
                format!("-volume.port.grpc={volume_grpc}"),
                "-volume.preStopSeconds=0".to_owned(),
                "-filer".to_owned(),
                format!("-filer.port={filer}"),
                format!("-filer.port.grpc={filer_grpc}"),
                "-s3".to_owned(),
                format!("-s3.port={s3}"),
                format!("-s3.port.grpc={s3_grpc}"),
                // The Iceberg and Lance catalogs would bind fixed ports.
                "-s3.port.iceberg=0".to_owned(),
                "-s3.port.lance=0".to_owned(),
            ]
            .map(OsString::from),
        );
        args.push(path_arg("s3.config", identities_path));
        // Unix sockets default to /tmp/seaweedfs-*-PORT.sock, shared by every server.
        args.push(path_arg("filer.localSocket", dir.path().join("filer.sock")));
        args.push(path_arg("s3.localSocket", dir.path().join("s3.sock")));
        // Its log files (besides stderr) go to the temporary directory: they go with it.
        let mut process =
            ServerProcess::new("SeaweedFS", "weed", args, dir.path().join("weed.log"))
                .env("TMPDIR", dir.path());
        process.spawn();
        Self {
            process,
            s3_port: s3,
            filer_port: filer,
            master_port: master,
            grpc_ports: GrpcPorts {
                master: master_grpc,
                volume: volume_grpc,
                filer: filer_grpc,
                s3: s3_grpc,
            },
            dir,
        }
    }

    /// Checks, a bounded number of times, that the S3 gateway refuses an anonymous request
    /// (so it runs with its identities loaded), that the master knows the volume server (so
    /// stored objects can be read) and that the filer answers.
    async fn check_ready(&mut self) -> Result<(), String> {
        let s3 = format!("{}/", self.endpoint());
        let master = format!("http://127.0.0.1:{}/dir/status", self.master_port);
        let filer = format!("http://127.0.0.1:{}/", self.filer_port);
        let process = &mut self.process;
        wait_ready("SeaweedFS ready", || {
            let exited = process.exited();
            let (s3, master, filer) = (s3.clone(), master.clone(), filer.clone());
            async move {
                if let Some(exited) = exited {
                    return Check::Failed(exited);
                }
                match http_get(&s3).await {
                    Ok((403, _)) => {}
                    Ok((status, _)) => return Check::NotYet(format!("{s3}: {status}")),
                    Err(error) => return Check::NotYet(error),
                }
                match http_get(&master).await {
                    Ok((200, body)) if knows_a_volume_server(&body) => {}
                    Ok((status, body)) => {
                        let body = String::from_utf8_lossy(&body);
                        return Check::NotYet(format!("{master}: {status} {body}"));
                    }
                    Err(error) => return Check::NotYet(error),
                }
                match http_get(&filer).await {
                    Ok((200, _)) => Check::Ready,
                    Ok((status, _)) => Check::NotYet(format!("{filer}: {status}")),
                    Err(error) => Check::NotYet(error),
                }
            }
        })
        .await
        .map_err(|why| format!("{why} (server in {})", self.dir.path().display()))
    }

    /// The filer's URL of `key` in `bucket`.
    fn filer_url(&self, bucket: &str, key: &str) -> String {
        format!(
            "http://127.0.0.1:{}{BUCKETS_DIR}/{bucket}/{key}",
            self.filer_port
        )
    }

    /// One request to the filer that must answer with one of `statuses`.
    async fn expect_status(&self, method: Method, url: &str, body: Vec<u8>, statuses: &[u16]) {
        match http_request(method.clone(), url, body).await {
            Ok((status, _)) if statuses.contains(&status) => {}
            Ok((status, body)) => panic!(
                "{method} {url}: {status} {}\n{}",
                String::from_utf8_lossy(&body),
                self.process.log_tail()
            ),
            Err(error) => panic!("{method} {error}\n{}", self.process.log_tail()),
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.process.kill();
        self.grpc_ports.remove_sockets();
    }
}

/// The gRPC ports of one server's parts.
struct GrpcPorts {
    master: u16,
    volume: u16,
    filer: u16,
    s3: u16,
}

impl GrpcPorts {
    /// Removes the Unix sockets weed made beside its gRPC ports, at a fixed place in /tmp
    /// (not under TMPDIR); a killed weed leaves them behind.
    fn remove_sockets(&self) {
        let parts = [
            ("master", self.master),
            ("volume", self.volume),
            ("filer", self.filer),
            ("s3", self.s3),
        ];
        for (part, port) in parts {
            let _ = std::fs::remove_file(format!("/tmp/seaweedfs-{part}-grpc-{port}.sock"));
        }
    }
}

/// Whether the master's `/dir/status` lists a volume server.
fn knows_a_volume_server(body: &[u8]) -> bool {
    let Ok(status) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    let data_centers = status["Topology"]["DataCenters"].as_array();
    data_centers.into_iter().flatten().any(|data_center| {
        let racks = data_center["Racks"].as_array();
        racks.into_iter().flatten().any(|rack| {
            rack["DataNodes"]
                .as_array()
                .is_some_and(|nodes| !nodes.is_empty())
        })
    })
}
