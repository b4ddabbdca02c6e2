//! `GET /admin/requests` (filtered list, newest first) and `GET /admin/requests/{id}`.

use hyper::{Response, StatusCode};
use serde::Serialize;

use super::{Insight, RecentRequest, RequestFilter};
use crate::{
    error_response::{Body, EdgeError, json_response},
    otel::ExportStatsView,
};

/// The JSON document of `GET /admin/requests`.
#[derive(Serialize)]
struct RequestsView {
    requests: Vec<RecentRequest>,
    /// The trace exporter's counters; absent when traces are not exported.
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_export: Option<ExportStatsView>,
}

/// `GET /admin/requests?adapter=&status=&limit=`.
pub fn list(insight: &Insight, query: Option<&str>) -> Response<Body> {
    match RequestFilter::parse(query) {
        Ok(filter) => json_response(
            StatusCode::OK,
            &RequestsView {
                requests: insight.recent().query(&filter),
                trace_export: insight.export_stats(),
            },
        ),
        Err(bad) => {
            let mut error = EdgeError::bad_request(format!("{}: {}", bad.param, bad.reason));
            error.error = "bad parameter";
            error.into_response()
        }
    }
}

/// `GET /admin/requests/{id}` (the id percent-encoded where it must be).
pub fn one(insight: &Insight, encoded_id: &str) -> Response<Body> {
    let Some(id) = percent_decode(encoded_id) else {
        return EdgeError::bad_request("the request id is not valid percent-encoding")
            .into_response();
    };
    match insight.recent().find(&id) {
        Some(entry) => json_response(StatusCode::OK, &entry),
        None => EdgeError::not_found(format!(
            "no recent request {id:?} is kept (only errors, slow requests and a sample are, and only the latest of each adapter)"
        ))
        .into_response(),
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
