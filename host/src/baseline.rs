//! The static baseline: the benchmark workloads compiled into the host, routed like an
//! adapter named `static-bench`, so a benchmark compares the ABI path against the very same
//! code without it (`frontdoor serve --builtin-bench`). W3's fan-out is `static-fanout`:
//! the `bench` adapter's ten calls, made through the same service layer without the ABI.

use std::sync::Arc;

use abi_stable::std_types::{RString, RVec};
use bytes::Bytes;
use frontdoor_plugin_api::BackendRequest;
use frontdoor_workloads as workloads;
use futures_util::{FutureExt as _, future::BoxFuture, future::join_all};
use hyper::Method;

use crate::{
    backends::{Backends, RequestScope},
    registry::PluginVersion,
};

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

/// The namespace of the compiled-in fan-out: `/static-fanout/fanout`.
pub const FANOUT_NAME: &str = "static-fanout";

/// The backend the fan-out calls, as the `bench` adapter names it.
const FANOUT_BACKEND: &str = "fanout";
const FANOUT_CALLS: usize = 10;

/// The fan-out baseline as a routable version.
pub fn fanout_version() -> PluginVersion {
    PluginVersion::builtin_calls(
        FANOUT_NAME,
        &semver::Version::new(1, 0, 0),
        &[(Method::GET, "/fanout")],
        fanout,
    )
}

/// What the `bench` adapter's `/fanout` does: ten GETs of distinct paths in parallel to
/// backend `fanout`, answering how many succeeded.
fn fanout(backends: Arc<Backends>, scope: Arc<RequestScope>) -> BoxFuture<'static, (u16, Bytes)> {
    async move {
        let paths: Vec<String> = (0..FANOUT_CALLS)
            .map(|call| format!("/ping?call={call}"))
            .collect();
        let calls = paths.iter().map(|path| {
            backends.call(
                &scope,
                BackendRequest {
                    backend: RString::from(FANOUT_BACKEND),
                    method: RString::from("GET"),
                    path: RString::from(path.as_str()),
                    headers: RVec::new(),
                    body: RVec::new(),
                },
            )
        });
        let ok = join_all(calls)
            .await
            .iter()
            .filter(|result| result.is_ok())
            .count();
        (
            200,
            Bytes::from(format!(r#"{{"calls":{FANOUT_CALLS},"ok":{ok}}}"#)),
        )
    }
    .boxed()
}
