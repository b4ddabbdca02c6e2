//! The `bench` adapter: the benchmark workloads W1 (`/bench/hello`) and W2
//! (`/bench/home?profile=N`) served through the plugin ABI, and W3 (`/bench/fanout`): ten
//! parallel calls to the backend named `fanout`.
//!
//! The reload benchmark (R1) swaps two builds of this adapter that differ only in version;
//! `FRONTDOOR_BENCH_VERSION` at build time sets it (default: the crate's version).

use frontdoor_plugin_api::{Ctx, Request, Response};
use frontdoor_workloads as workloads;
use futures_util::future::join_all;

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
        GET "/fanout" => fanout,
    }
}

async fn hello(_request: Request, _ctx: Ctx) -> Response {
    Response::json_static(200, workloads::HELLO_BODY)
}

async fn home(request: Request, _ctx: Ctx) -> Response {
    match workloads::home(request.query()) {
        Ok(body) => Response::json_bytes(200, body),
        Err(workloads::BadProfile) => Response::json_static(400, workloads::BAD_PROFILE_BODY),
    }
}

/// W3: ten calls in parallel to backend `fanout` (distinct paths, so the host's per-request
/// deduplication of identical GETs does not merge them).
async fn fanout(_request: Request, ctx: Ctx) -> Response {
    const CALLS: usize = 10;
    let backend = ctx.backend("fanout");
    let paths: Vec<String> = (0..CALLS)
        .map(|call| format!("/ping?call={call}"))
        .collect();
    let results = join_all(paths.iter().map(|path| backend.get(path))).await;
    let ok = results.iter().filter(|result| result.is_ok()).count();
    Response::json_bytes(200, format!(r#"{{"calls":{CALLS},"ok":{ok}}}"#))
}
