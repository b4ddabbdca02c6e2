//! The `crowd` adapter: twenty routes answering a small JSON body, for the benchmark that
//! loads a thousand adapters beside `bench` (README, "Benchmarks"). `cargo xtask bench`
//! builds it once and writes a thousand copies, each with [`NAME_STAMP`] in the library
//! replaced by a name of the same length (`crowd-aaab`, `crowd-aaac`, ...): a thousand
//! distinct adapters from one build instead of a thousand builds.

use frontdoor_plugin_api::{Ctx, Request, Response};

/// The name in the manifest, which the bench overwrites in each copy. It must occur in the
/// library exactly once, so it is spelled nowhere else.
pub const NAME_STAMP: &str = "crowd-aaaa";

frontdoor_plugin_api::export_adapter! {
    name: NAME_STAMP,
    version: env!("CARGO_PKG_VERSION"),
    routes: {
        GET "/hello" => hello,
        GET "/titles/{id}" => item,
        GET "/titles/{id}/art" => item,
        GET "/titles/{id}/cast" => item,
        GET "/titles/{id}/similar" => item,
        GET "/rows/{row}" => item,
        GET "/rows/{row}/page/{page}" => item,
        GET "/profiles/{id}" => item,
        GET "/profiles/{id}/list" => item,
        POST "/profiles/{id}/list" => item,
        GET "/search" => hello,
        GET "/genres" => hello,
        GET "/genres/{id}" => item,
        GET "/continue" => hello,
        GET "/trending" => hello,
        GET "/new" => hello,
        GET "/settings" => hello,
        POST "/settings" => hello,
        GET "/health" => hello,
        GET "/config/{device}" => item,
    }
}

async fn hello(_request: Request, _ctx: Ctx) -> Response {
    Response::json_static(200, br#"{"message":"hello"}"#)
}

async fn item(_request: Request, _ctx: Ctx) -> Response {
    Response::json_static(200, br#"{"item":true}"#)
}
