//! Shared fixtures: building fixture plugins once, plugins directories, hosts, an HTTP client.

pub mod fixtures;
pub mod host;
pub mod http;
pub mod poll;

pub use fixtures::{Fixture, StaticInit};
pub use host::TestHost;
pub use http::{Reply, client, get, send, try_send};
pub use poll::eventually;
