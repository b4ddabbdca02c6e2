//! The `bench` adapter: the benchmark workloads W1 (`/bench/hello`) and W2
//! (`/bench/home?profile=N`) served through the plugin ABI.
//!
//! The reload benchmark (R1) swaps two builds of this adapter that differ only in version;
//! `FRONTDOOR_BENCH_VERSION` at build time sets it (default: the crate's version).

use frontdoor_plugin_api::{Ctx, Request, Response};
use frontdoor_workloads as workloads;

/// The version in the manifest.
const VERSION: &str = match option_env!("FRONTDOOR_BENCH_VERSION") {
    Some(version) => version,
    None => env!("CARGO_PKG_VERSION"),
};

frontdoor_plugin_api::export_adapter! {
    name: env!("CARGO_PKG_NAME"),
    version: VERSION,
    routes: {
        GET "/hello" => hello,
        GET "/home" => home,
    }
}

async fn hello(_request: Request, _ctx: Ctx) -> Response {
    Response::json_bytes(200, workloads::HELLO_BODY)
}

async fn home(request: Request, _ctx: Ctx) -> Response {
    match workloads::home(request.query()) {
        Ok(body) => Response::json_bytes(200, body),
        Err(workloads::BadProfile) => Response::json_bytes(400, workloads::BAD_PROFILE_BODY),
    }
}
