//! The `bench` adapter: the benchmark workloads W1 (`/bench/hello`) and W2
//! (`/bench/home?profile=N`) served through the plugin ABI.

use frontdoor_plugin_api::{Ctx, Request, Response};
use frontdoor_workloads as workloads;

frontdoor_plugin_api::export_adapter! {
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
