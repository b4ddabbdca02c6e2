//! `GET /admin/recycle` (the last outcome, whether one runs) and `POST /admin/recycle`
//! (admin scope, audited): runs a recycle and answers once it ended, with an optional
//! `{"binary": "/abs/path"}` to start another binary (an upgrade).

use std::path::PathBuf;

use http_body_util::{BodyExt as _, Limited};
use hyper::{Method, Request, Response, StatusCode, body::Incoming};
use serde::Deserialize;

use super::{RecycleError, Recycler, Trigger};
use crate::{
    control::{Action, Control},
    error_response::{Body, EdgeError, json_response},
};

/// The body of `POST /admin/recycle`; empty means `{}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecycleRequest {
    binary: Option<PathBuf>,
}

pub async fn serve(
    recycler: &std::sync::Arc<Recycler>,
    control: &Control,
    request: Request<Incoming>,
) -> Response<Body> {
    match *request.method() {
        Method::GET => json_response(StatusCode::OK, &recycler.view()),
        Method::POST => post(recycler, control, request)
            .await
            .unwrap_or_else(EdgeError::into_response),
        _ => EdgeError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
            "use GET or POST",
        )
        .into_response(),
    }
}

async fn post(
    recycler: &std::sync::Arc<Recycler>,
    control: &Control,
    request: Request<Incoming>,
) -> Result<Response<Body>, EdgeError> {
    // Authorized by `Control::intercept` already (`admin`); asked again for the team name.
    let caller = control
        .authorize(request.headers(), Action::ChangeHost)
        .map_err(|_| EdgeError::internal("the caller could not be named"))?;
    let body = Limited::new(request.into_body(), 4096)
        .collect()
        .await
        .map_err(|_| EdgeError::bad_request("the body must be at most 4096 bytes of JSON"))?
        .to_bytes();
    let asked: RecycleRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RecycleRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|error| EdgeError::bad_request(format!("invalid body: {error}")))?
    };
    let trigger = Trigger::Admin {
        team: caller.team.clone(),
    };
    let target = asked.binary.as_ref().map_or_else(
        || "host".to_owned(),
        |binary| format!("host (binary {})", binary.display()),
    );
    let result = recycler.recycle(trigger, asked.binary).await;
    let (status, document) = match &result {
        Ok(outcome) => (StatusCode::OK, serde_json::json!(outcome)),
        Err(error) => (
            status_of(error),
            serde_json::json!({
                "error": error_title(error),
                "detail": error.to_string(),
                "last": recycler.view().last,
            }),
        ),
    };
    // Refusals that started nothing (busy, bad binary) are not changes.
    if status == StatusCode::OK || status == StatusCode::BAD_GATEWAY {
        control.audit().record(
            &caller.team,
            "recycle",
            &target,
            serde_json::json!({ "pid": std::process::id() }),
            document.clone(),
        );
    }
    Ok(json_response(status, &document))
}

fn status_of(error: &RecycleError) -> StatusCode {
    match error {
        RecycleError::InProgress | RecycleError::HandedOver { .. } => StatusCode::CONFLICT,
        RecycleError::Binary { .. } => StatusCode::BAD_REQUEST,
        RecycleError::Unavailable => StatusCode::NOT_IMPLEMENTED,
        // The successor failed: this host, still serving, answers for it as a gateway would.
        RecycleError::Spawn { .. }
        | RecycleError::Exited { .. }
        | RecycleError::Failed { .. }
        | RecycleError::NotReady { .. }
        | RecycleError::Channel(_) => StatusCode::BAD_GATEWAY,
    }
}

fn error_title(error: &RecycleError) -> &'static str {
    match error {
        RecycleError::InProgress => "recycle in progress",
        RecycleError::HandedOver { .. } => "handed over",
        RecycleError::Binary { .. } => "bad binary",
        RecycleError::Unavailable => "not implemented",
        _ => "recycle failed",
    }
}
