//! The `{{name}}` adapter. It serves `GET /{{name}}/hello`: a greeting for profile 1 from
//! the sample backend `profiles`, and, when that backend fails or is not configured, still
//! an answer, marked as degraded. Start from here: add routes to `export_adapter!`, one
//! handler each.

use frontdoor_plugin_api::{
    Ctx, LogLevel, Request, Response,
    serde_json::{Value, json},
};

frontdoor_plugin_api::export_adapter! {
    routes: {
        GET "/hello" => hello,
    }
}

/// `200` with the adapter's name and a greeting; `degraded` names the backends whose
/// failure the answer absorbed (a fallback is an answer, not an error).
async fn hello(_request: Request, ctx: Ctx) -> Response {
    // One backend call through the host: its timeout, circuit breaker and the request's
    // deadline apply; every way it can fail is an `Err` to fall back from.
    match ctx
        .backend("profiles")
        .get_json::<Value>("/profiles/1")
        .await
    {
        Ok(profile) => {
            let name = profile["name"].as_str().unwrap_or("there");
            Response::json(&json!({
                "adapter": "{{name}}",
                "greeting": format!("Hello, {name}!"),
                "degraded": [],
            }))
        }
        Err(error) => {
            ctx.log(
                LogLevel::Warn,
                &format!("profiles failed, greeting without a name: {error}"),
            );
            Response::json(&json!({
                "adapter": "{{name}}",
                "greeting": "Hello!",
                "degraded": ["profiles"],
            }))
        }
    }
}

#[cfg(test)]
mod tests;
