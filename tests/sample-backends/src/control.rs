//! The control server: faults and stats of every service over HTTP, on a port of its own so
//! it keeps answering while a service refuses connections.

use std::{collections::BTreeMap, sync::Arc};

use hyper::{Request, Response, StatusCode, body::Incoming};
use serde_json::json;

use crate::{
    backend::{Backend, Fleet},
    faults::{Faults, FaultsError},
    http::{self, Body, Call, Reply},
    service::Service,
    shutdown::Stopped,
};

/// Answers one control request.
pub(crate) async fn serve(
    fleet: Arc<Fleet>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Stopped> {
    let reply = match http::read_call(request).await {
        Ok(call) => route(&fleet, &call).await,
        Err(reply) => reply,
    };
    Ok(reply.into_response())
}

/// `GET /services`, `GET|PUT /faults/{service}`, `GET /stats/{service}`,
/// `POST /stats/{service}/reset`, `GET /health`.
pub(crate) async fn route(fleet: &Fleet, call: &Call) -> Reply {
    let method = call.method.as_str();
    match (method, call.segments().as_slice()) {
        ("GET", ["health"]) => Reply::ok(json!({ "ok": true, "service": "control" })),
        ("GET", ["services"]) => {
            let services: BTreeMap<&str, String> = fleet
                .iter()
                .map(|backend| (backend.service.name(), backend.addr.to_string()))
                .collect();
            Reply::ok(services)
        }
        ("GET", ["faults", name]) => {
            with_backend(fleet, name, |backend| Reply::ok(backend.faults()))
        }
        ("PUT", ["faults", name]) => match find(fleet, name) {
            Ok(backend) => put_faults(backend, &call.body).await,
            Err(reply) => reply,
        },
        ("GET", ["stats", name]) => with_backend(fleet, name, |backend| Reply::ok(backend.stats())),
        ("POST", ["stats", name, "reset"]) => with_backend(fleet, name, |backend| {
            backend.reset_stats();
            Reply::ok(backend.stats())
        }),
        (_, ["health" | "services"] | ["faults" | "stats", _] | ["stats", _, "reset"]) => {
            Reply::method_not_allowed()
        }
        _ => Reply::no_route(),
    }
}

fn find<'a>(fleet: &'a Fleet, name: &str) -> Result<&'a Backend, Reply> {
    name.parse::<Service>()
        .map(|service| &*fleet[service.index()])
        .map_err(|error| Reply::not_found(error.to_string()))
}

fn with_backend(fleet: &Fleet, name: &str, answer: impl FnOnce(&Backend) -> Reply) -> Reply {
    find(fleet, name).map_or_else(|reply| reply, answer)
}

async fn put_faults(backend: &Backend, body: &[u8]) -> Reply {
    let faults: Faults = match serde_json::from_slice(body) {
        Ok(faults) => faults,
        Err(error) => return Reply::bad_request(format!("bad faults: {error}")),
    };
    match backend.set_faults(faults).await {
        Ok(faults) => Reply::ok(faults),
        Err(error @ FaultsError::Invalid(_)) => Reply::bad_request(error.to_string()),
        Err(error @ FaultsError::Listener { .. }) => {
            Reply::error(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
        }
    }
}

#[cfg(test)]
mod tests;
