//! The admin endpoints of traffic plans, under `/admin/adapters/{name}/`: `canary` (POST
//! to start, GET, DELETE), `canary/promote`, `canary/abort`, `canary/judge` (POST), and
//! `shadow` (POST, GET, DELETE). Input is checked against the loaded versions here; every
//! refusal is a JSON error with a status that says whose mistake it is.

use http_body_util::{BodyExt as _, Limited};
use hyper::{Method, Request, Response, StatusCode};
use serde::{Deserialize, de::DeserializeOwned};

use super::{
    CanarySettings, Cause, ShadowSettings, Traffic, TrafficError, canary, judge::Criteria,
};
use crate::{
    error_response::{Body, EdgeError, RequestBody, json_response},
    registry::Registry,
    router::RoutingTable,
};

/// Where these endpoints live.
pub const PREFIX: &str = "/admin/adapters/";

/// The body of `POST .../canary`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CanaryRequest {
    canary: String,
    /// Default: the adapter's default version, or the version below the canary when the
    /// canary is itself the default (as a freshly deployed highest version is).
    baseline: Option<String>,
    #[serde(default = "default_weight")]
    weight: f64,
    /// Default: 25, 50, 100 (those above `weight`).
    steps: Option<Vec<f64>>,
    #[serde(default = "default_interval_ms")]
    interval_ms: u64,
    min_requests: Option<u64>,
    error_margin: Option<f64>,
    alpha: Option<f64>,
    latency_margin: Option<f64>,
}

fn default_weight() -> f64 {
    10.0
}

fn default_interval_ms() -> u64 {
    60_000
}

/// The body of `POST .../shadow`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShadowRequest {
    target: String,
    share: f64,
    #[serde(default)]
    ignore: Vec<String>,
}

/// Serves `request`, whose path starts with [`PREFIX`].
pub async fn serve(
    traffic: &Traffic,
    registry: &Registry,
    request: Request<impl RequestBody>,
) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let rest = path.strip_prefix(PREFIX).unwrap_or_default();
    let mut parts = rest.split('/');
    let (Some(adapter), Some(kind)) = (parts.next().filter(|a| !a.is_empty()), parts.next()) else {
        return EdgeError::not_found(format!("no admin endpoint {path}")).into_response();
    };
    let action = parts.next();
    if parts.next().is_some() {
        return EdgeError::not_found(format!("no admin endpoint {path}")).into_response();
    }
    let method = request.method().clone();
    let outcome = match (kind, action, &method) {
        ("canary", None, &Method::POST) => match read::<CanaryRequest>(request).await {
            Ok(body) => start_canary(traffic, &registry.table(), adapter, body)
                .map(|view| json_response(StatusCode::CREATED, &view)),
            Err(refusal) => return refusal,
        },
        ("canary", None, &Method::GET) => traffic
            .canary(adapter)
            .map(|view| json_response(StatusCode::OK, &view))
            .ok_or_else(|| TrafficError::NoCanary(adapter.to_owned())),
        ("canary", None, &Method::DELETE) => traffic
            .remove_canary(adapter)
            .map(|view| json_response(StatusCode::OK, &view)),
        ("canary", Some("promote"), &Method::POST) => traffic
            .promote(adapter)
            .map(|view| json_response(StatusCode::OK, &view)),
        ("canary", Some("abort"), &Method::POST) => traffic
            .abort(adapter)
            .map(|view| json_response(StatusCode::OK, &view)),
        ("canary", Some("judge"), &Method::POST) => traffic
            .judge_now(adapter, Cause::Manual)
            .map(|verdict| json_response(StatusCode::OK, &verdict)),
        ("shadow", None, &Method::POST) => match read::<ShadowRequest>(request).await {
            Ok(body) => set_shadow(traffic, &registry.table(), adapter, body)
                .map(|view| json_response(StatusCode::CREATED, &view)),
            Err(refusal) => return refusal,
        },
        ("shadow", None, &Method::GET) => traffic
            .shadow(adapter)
            .map(|view| json_response(StatusCode::OK, &view))
            .ok_or_else(|| TrafficError::NoShadow(adapter.to_owned())),
        ("shadow", None, &Method::DELETE) => traffic
            .remove_shadow(adapter)
            .map(|view| json_response(StatusCode::OK, &view)),
        ("canary", None, _) | ("shadow", None, _) => {
            return EdgeError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
                "use GET, POST or DELETE",
            )
            .into_response();
        }
        ("canary", Some("promote" | "abort" | "judge"), _) => {
            return EdgeError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
                "use POST",
            )
            .into_response();
        }
        _ => return EdgeError::not_found(format!("no admin endpoint {path}")).into_response(),
    };
    outcome.unwrap_or_else(|error| refusal(error).into_response())
}

fn start_canary(
    traffic: &Traffic,
    table: &RoutingTable,
    adapter: &str,
    body: CanaryRequest,
) -> Result<super::CanaryView, TrafficError> {
    let versions = table
        .adapter(adapter)
        .ok_or_else(|| TrafficError::UnknownAdapter(adapter.to_owned()))?;
    let loaded: Vec<semver::Version> = versions
        .versions
        .iter()
        .map(|routed| routed.version.identity.version.clone())
        .collect();
    let find = |text: &str| {
        let version = canary::parse_version(text)?;
        if loaded.contains(&version) {
            Ok(version)
        } else {
            Err(TrafficError::UnknownVersion {
                adapter: adapter.to_owned(),
                version: version.to_string(),
                loaded: loaded.iter().map(ToString::to_string).collect(),
            })
        }
    };
    let canary = find(&body.canary)?;
    let baseline = match &body.baseline {
        Some(text) => find(text)?,
        None => versions
            .select(None)
            .map(|routed| routed.version.identity.version.clone())
            .filter(|default| *default != canary)
            .or_else(|| {
                versions
                    .versions
                    .iter()
                    .filter(|routed| !routed.version.health.is_quarantined())
                    .map(|routed| routed.version.identity.version.clone())
                    .find(|version| *version != canary)
            })
            .ok_or_else(|| TrafficError::NoBaseline(adapter.to_owned()))?,
    };
    let defaults = Criteria::default();
    let weight = body.weight;
    let settings = CanarySettings {
        canary: canary.to_string(),
        baseline: baseline.to_string(),
        weight,
        steps: body.steps.unwrap_or_else(|| {
            [25.0, 50.0, 100.0]
                .into_iter()
                .filter(|&step| step > weight)
                .collect()
        }),
        interval_ms: body.interval_ms,
        criteria: Criteria {
            min_requests: body.min_requests.unwrap_or(defaults.min_requests),
            error_margin: body.error_margin.unwrap_or(defaults.error_margin),
            alpha: body.alpha.unwrap_or(defaults.alpha),
            latency_margin: body.latency_margin.unwrap_or(defaults.latency_margin),
        },
    };
    traffic.start_canary(adapter, settings)
}

fn set_shadow(
    traffic: &Traffic,
    table: &RoutingTable,
    adapter: &str,
    body: ShadowRequest,
) -> Result<super::ShadowView, TrafficError> {
    let versions = table
        .adapter(adapter)
        .ok_or_else(|| TrafficError::UnknownAdapter(adapter.to_owned()))?;
    let target = canary::parse_version(&body.target)?;
    if !versions
        .versions
        .iter()
        .any(|routed| routed.version.identity.version == target)
    {
        return Err(TrafficError::UnknownVersion {
            adapter: adapter.to_owned(),
            version: target.to_string(),
            loaded: versions
                .versions
                .iter()
                .map(|routed| routed.version.identity.version.to_string())
                .collect(),
        });
    }
    if versions
        .select(None)
        .is_some_and(|routed| routed.version.identity.version == target)
    {
        return Err(TrafficError::ShadowOfDefault {
            adapter: adapter.to_owned(),
            version: target.to_string(),
        });
    }
    traffic.set_shadow(
        adapter,
        ShadowSettings {
            target: target.to_string(),
            share: body.share,
            ignore: body.ignore,
        },
    )
}

/// Reads a JSON body of at most 64 KiB into `T`; a 400 for anything else.
async fn read<T: DeserializeOwned>(
    request: Request<impl RequestBody>,
) -> Result<T, Response<Body>> {
    let bytes = Limited::new(request.into_body(), 64 * 1024)
        .collect()
        .await
        .map_err(|_| {
            EdgeError::bad_request("the body must be at most 64 KiB of JSON").into_response()
        })?
        .to_bytes();
    serde_json::from_slice(&bytes).map_err(|error| {
        EdgeError::bad_request(format!("the body is not valid: {error}")).into_response()
    })
}

/// The status of each refusal: 404 for what does not exist, 400 for malformed input, 409 for
/// a request that conflicts with the state things are in.
fn refusal(error: TrafficError) -> EdgeError {
    let detail = error.to_string();
    match error {
        TrafficError::UnknownVersion { loaded, .. } => {
            let mut refusal = EdgeError::not_found(detail);
            refusal.error = "unknown version";
            refusal.loaded_versions = Some(loaded);
            refusal
        }
        TrafficError::UnknownAdapter(_) | TrafficError::NoCanary(_) | TrafficError::NoShadow(_) => {
            EdgeError::not_found(detail)
        }
        TrafficError::InvalidVersion(_)
        | TrafficError::Weight(_)
        | TrafficError::Steps(_)
        | TrafficError::Share(_)
        | TrafficError::Invalid(_) => EdgeError::bad_request(detail),
        TrafficError::SameVersion(_)
        | TrafficError::CanaryRunning(_)
        | TrafficError::NotRunning { .. }
        | TrafficError::NoBaseline(_)
        | TrafficError::ShadowOfDefault { .. } => {
            EdgeError::new(StatusCode::CONFLICT, "conflict", detail)
        }
    }
}
