//! Shared fixtures: building fixture plugins once, plugins directories, hosts, an HTTP client.

pub mod fixtures;
pub mod host;
pub mod http;

pub use fixtures::Fixture;
pub use host::TestHost;
pub use http::{Reply, client, get, send, try_send};
