//! The static baseline: the benchmark workloads compiled into the host, routed like an
//! adapter named `static-bench`, so a benchmark compares the ABI path against the very same
//! code without it (`frontdoor serve --builtin-bench`).

use bytes::Bytes;
use frontdoor_workloads as workloads;
use hyper::Method;

use crate::registry::PluginVersion;

/// The namespace the baseline is served under: `/static-bench/hello`, `/static-bench/home`.
pub const NAME: &str = "static-bench";

/// The baseline as a routable version.
pub fn version() -> PluginVersion {
    PluginVersion::builtin(
        NAME,
        &semver::Version::new(1, 0, 0),
        &[(Method::GET, "/hello"), (Method::GET, "/home")],
        handle,
    )
}

fn handle(route: u32, query: &str) -> (u16, Bytes) {
    match route {
        0 => (200, Bytes::from_static(workloads::HELLO_BODY)),
        _ => match workloads::home(query) {
            Ok(body) => (200, Bytes::from(body)),
            Err(workloads::BadProfile) => (400, Bytes::from_static(workloads::BAD_PROFILE_BODY)),
        },
    }
}
