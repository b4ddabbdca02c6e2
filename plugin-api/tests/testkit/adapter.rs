//! The adapter under test: one route per behaviour the kit must reproduce.

use std::time::Duration;

use frontdoor_plugin_api::{
    Ctx, LogLevel, Request, Response, WarmupCtx,
    abi_stable::std_types::RString,
    serde_json::{Value, json},
    testkit::TestKit,
};
use futures_util::future::join;

frontdoor_plugin_api::module_interface! {
    /// A test interface at 1.1.
    pub struct Shout;
    /// What a shout module implements.
    pub trait ShoutModule;

    since "1.0" {
        /// `text`, louder.
        fn shout(text: RString) -> RString;
    }
    since "1.1" {
        /// `text`, quieter.
        fn whisper(text: RString) -> RString;
    }
}

/// The same interface as released in 1.0: a 1.1 consumer must refuse it.
#[allow(
    dead_code,
    reason = "only its implementation side is used: a module to refuse"
)]
pub mod release_1_0 {
    use frontdoor_plugin_api::abi_stable::std_types::RString;

    frontdoor_plugin_api::module_interface! {
        /// The test interface at 1.0.
        pub struct Shout;
        /// What a 1.0 shout module implements.
        pub trait ShoutModule;

        since "1.0" {
            /// `text`, louder.
            fn shout(text: RString) -> RString;
        }
    }
}

frontdoor_plugin_api::export_adapter! {
    name: "testkit",
    version: "0.1.0",
    requires: { "shout" "^1.1" => Shout },
    warmup: warm_up,
    routes: {
        GET "/items/{id}" => item,
        GET "/call/{backend}" => call,
        GET "/fanout" => fanout,
        GET "/sequence" => sequence,
        GET "/sleepy" => sleepy,
        GET "/hang" => hang,
        GET "/panic" => panics,
        GET "/fail" => fails,
        POST "/echo" => echo,
        GET "/shout/{word}" => shout,
        GET "/bad-header" => bad_header,
        GET "/bad-call" => bad_call,
    }
}

pub fn kit() -> TestKit {
    TestKit::new(__frontdoor_adapter())
}

async fn warm_up(ctx: WarmupCtx) -> Result<(), String> {
    ctx.backend("catalog")
        .get("/titles/popular")
        .await
        .map(|_| ())
        .map_err(|error| format!("catalog not reachable: {error}"))
}

/// The title, or a fallback naming the error kind.
async fn item(request: Request, ctx: Ctx) -> Response {
    let id = request.param("id").unwrap_or_default();
    match ctx
        .backend("catalog")
        .get_json::<Value>(&format!("/titles/{id}"))
        .await
    {
        Ok(title) => Response::json(&json!({ "id": id, "title": title })),
        Err(error) => Response::json(&json!({ "id": id, "fallback": format!("{:?}", error.kind) })),
    }
}

/// Calls `backend` at `?path=` and reports how it went.
async fn call(request: Request, ctx: Ctx) -> Response {
    let backend = request.param("backend").unwrap_or_default().to_owned();
    let path = request.query_param("path").unwrap_or_default().into_owned();
    match ctx.backend(&backend).get(&path).await {
        Ok(answer) => Response::json(&json!({
            "status": answer.status,
            "etag": answer.header("etag"),
            "body": answer.text(),
        })),
        Err(error) => Response::json(&json!({
            "kind": format!("{:?}", error.kind),
            "status": error.status,
            "message": error.message.as_str(),
        })),
    }
}

async fn fanout(_request: Request, ctx: Ctx) -> Response {
    let (a, b) = join(ctx.backend("a").get("/a"), ctx.backend("b").get("/b")).await;
    Response::json(&json!({ "a": a.is_ok(), "b": b.is_ok() }))
}

async fn sequence(_request: Request, ctx: Ctx) -> Response {
    let a = ctx.backend("a").get("/a").await;
    let b = ctx.backend("b").get("/b").await;
    Response::json(&json!({ "a": a.is_ok(), "b": b.is_ok() }))
}

async fn sleepy(_request: Request, ctx: Ctx) -> Response {
    let before = ctx.deadline_remaining();
    ctx.sleep(Duration::from_secs(2)).await;
    ctx.log(LogLevel::Info, "slept");
    Response::json(&json!({
        "before_ms": before.as_millis() as u64,
        "after_ms": ctx.deadline_remaining().as_millis() as u64,
    }))
}

async fn hang(_request: Request, _ctx: Ctx) -> Response {
    std::future::pending::<()>().await;
    Response::new(200)
}

async fn panics(_request: Request, _ctx: Ctx) -> Response {
    panic!("deliberate handler panic");
}

async fn fails(_request: Request, ctx: Ctx) -> Result<Response, Box<dyn std::error::Error>> {
    ctx.backend("catalog")
        .get_json::<Value>("/titles/1")
        .await?;
    Ok(Response::new(204))
}

async fn echo(request: Request, ctx: Ctx) -> Response {
    let body: Value = match request.json() {
        Ok(body) => body,
        Err(bad) => return bad.into_response(),
    };
    Response::json(&json!({
        "method": request.method(),
        "path": request.path(),
        "query": request.query(),
        "body": body,
        "custom": request.header("X-Custom"),
        "request_id": request.header("x-request-id"),
        "number": ctx.request_id(),
    }))
    .with_header("x-frontdoor-adapter", "forged")
    .with_header("x-request-id", "forged-id")
    .with_header("x-echo", "yes")
}

async fn shout(
    request: Request,
    ctx: Ctx<Adapter>,
) -> Result<Response, Box<dyn std::error::Error>> {
    let word = request.param("word").unwrap_or_default();
    let module = ctx.module::<Shout>()?;
    let loud = module.shout(word.into())?;
    let quiet = module.whisper(word.into())?;
    Ok(Response::json(
        &json!({ "loud": loud.as_str(), "quiet": quiet.as_str() }),
    ))
}

async fn bad_header(_request: Request, _ctx: Ctx) -> Response {
    Response::new(200).with_header("bad header", "x")
}

/// Backend calls HTTP cannot carry: the host refuses them as `Invalid`.
async fn bad_call(_request: Request, ctx: Ctx) -> Response {
    let catalog = ctx.backend("catalog");
    let header = catalog.send("GET", "/x", &[("bad header", "v")], Vec::new());
    let value = catalog.send("GET", "/x", &[("x-ok", "line\nbreak")], Vec::new());
    let method = catalog.send("GE T", "/x", &[], Vec::new());
    let (header, value, method) = (header.await, value.await, method.await);
    let kind = |result: Result<_, frontdoor_plugin_api::BackendError>| {
        result.map_or_else(|error| format!("{:?}", error.kind), |_| "ok".to_owned())
    };
    Response::json(&json!([kind(header), kind(value), kind(method)]))
}
