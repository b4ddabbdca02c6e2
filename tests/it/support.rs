//! Shared fixtures: building fixture plugins once, plugins directories, hosts, an HTTP client,
//! and backends the tests control (a recorder, a gate, a held backend); the fleet's etcd
//! cluster and S3 store.

pub mod console_session;
pub mod fixtures;
pub mod fleet_servers;
pub mod gate;
pub mod held_backend;
pub mod host;
pub mod http;
pub mod otlp;
pub mod poll;
pub mod process;
pub mod raw;
pub mod recorder;
pub mod signing;

pub use fixtures::{Fixture, StaticInit};
pub use fleet_servers::{EtcdCluster, S3Server};
pub use gate::Gate;
pub use held_backend::{HeldBackend, Hold};
pub use host::TestHost;
pub use http::{HttpClient, Reply, client, get, send, try_send};
pub use otlp::OtlpReceiver;
pub use poll::{eventually, within};
pub use process::HostProcess;
pub use raw::RawClient;
pub use recorder::{Recorder, refusing_url};
