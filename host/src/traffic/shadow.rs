//! Running one shadow call: after the device has its answer, the mirrored request is served
//! by the shadow version under its own deadline and a slot of the shadow bulkhead; its
//! answer is compared with the device's and discarded.
//!
//! The caller (the dispatcher) starts it on the isolation runtime, never on a device worker,
//! and only when a bulkhead slot was free: a slow or failing shadow costs shadow slots,
//! never a device request's time or answer.

use std::{future::Future, sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::{HeaderMap, Method, Response, Uri};
use tokio::sync::OwnedSemaphorePermit;

use super::{
    compare::{self, Answer, Bounds},
    routing::ShadowRoute,
};
use crate::error_response::Body;

/// The device request as the shadow version is to be called with it.
pub struct ShadowRequest {
    /// `=version` of the shadow.
    pub target: semver::VersionReq,
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A shadow call ready to run, holding its bulkhead slot.
pub struct ShadowJob {
    pub(super) request: ShadowRequest,
    pub(super) route: Arc<ShadowRoute>,
    pub(super) primary_status: u16,
    /// The device's body: `Full<Bytes>`, so this is a reference-counted copy.
    pub(super) primary_body: Body,
    pub(super) primary_us: u64,
    pub(super) timeout: Duration,
    pub(super) bounds: Bounds,
    pub(super) _slot: OwnedSemaphorePermit,
}

impl ShadowJob {
    /// Serves the request with `call` (the dispatcher's shadow path), compares and records.
    pub async fn run<F, Fut>(self, call: F)
    where
        F: FnOnce(ShadowRequest) -> Fut,
        Fut: Future<Output = Response<Body>>,
    {
        let described = format!(
            "{} {}",
            self.request.method,
            self.request
                .uri
                .path_and_query()
                .map_or("/", |path| path.as_str())
        );
        let started = tokio::time::Instant::now();
        let Ok(answer) = tokio::time::timeout(self.timeout, call(self.request)).await else {
            self.route.report.note_timed_out(self.primary_us);
            return;
        };
        let shadow_us = micros(started.elapsed());
        let shadow = Answer {
            status: answer.status().as_u16(),
            body: collect(answer.into_body()).await,
        };
        let primary = Answer {
            status: self.primary_status,
            body: collect(self.primary_body).await,
        };
        let comparison = compare::compare(&primary, &shadow, &self.route.ignored, self.bounds);
        self.route.report.note_compared(
            described,
            (primary.status, shadow.status),
            (self.primary_us, shadow_us),
            comparison,
        );
    }
}

/// A `Full` body's bytes (it is ready at once and cannot fail).
async fn collect(body: Body) -> Bytes {
    body.collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default()
}

pub fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}
