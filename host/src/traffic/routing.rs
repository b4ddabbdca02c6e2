//! The request path's view of traffic plans: an immutable table, published through
//! `arc-swap` beside the routing table, that turns "no version asked for" into a side of a
//! canary split and decides whether to mirror a request. With no plan at all it costs one
//! atomic load and an emptiness check; with a canary, one hash and a compare.

use std::{collections::HashMap, sync::Arc};

use bytes::Bytes;
use hyper::{
    HeaderMap, Method, Uri,
    header::{HeaderName, HeaderValue},
    http::request::Parts,
};

use super::{
    compare::Ignored,
    report::ShadowReport,
    samples::{Arm, Sampler},
    sticky::{self, StickyKey},
};
use crate::router::{AdapterVersions, Routed};

/// Every adapter with a canary or a shadow.
#[derive(Default)]
pub struct TrafficRoutes {
    pub adapters: HashMap<Box<str>, AdapterTraffic>,
}

#[derive(Default)]
pub struct AdapterTraffic {
    pub canary: Option<CanaryRoute>,
    pub shadow: Option<Arc<ShadowRoute>>,
}

/// How default traffic splits: below `threshold` (basis points) to the canary.
pub struct CanaryRoute {
    /// `=version` of each side, built once per plan change so selection allocates nothing.
    pub baseline: semver::VersionReq,
    pub canary: semver::VersionReq,
    pub threshold: u32,
    pub seed: u64,
    /// Present while the judge is running: where each side's requests are counted.
    pub sampler: Option<Arc<Sampler>>,
}

/// Which requests are mirrored, and to what.
pub struct ShadowRoute {
    pub target: semver::Version,
    pub target_requirement: semver::VersionReq,
    pub threshold: u32,
    pub ignored: Ignored,
    pub report: Arc<ShadowReport>,
}

/// What routing decided about one request that must be acted on once it is answered:
/// which canary side to count it in, and what to mirror. Lives on the request's stack.
#[derive(Default)]
pub struct Ticket {
    pub(super) canary: Option<(Arc<Sampler>, Arm)>,
    /// Boxed: a mirrored request is rare, and the ticket lives in every request's future,
    /// which is moved whole (a copy of the request's head inline made it 264 bytes).
    pub(super) shadow: Option<Box<(Arc<ShadowRoute>, Mirrored)>>,
}

/// A copy of the device request for its shadow; taken only when it is mirrored.
pub struct Mirrored {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    /// Set once the body has been read; without it nothing is mirrored.
    pub body: Option<Bytes>,
}

impl Ticket {
    /// Sets a header of the mirrored copy, if this request is mirrored: the request id,
    /// which the host does not add to a device's request that came without one.
    pub fn mirror_header(&mut self, name: HeaderName, value: &HeaderValue) {
        if let Some(shadow) = &mut self.shadow {
            let (_, mirrored) = &mut **shadow;
            mirrored.headers.insert(name, value.clone());
        }
    }

    /// Keeps the request body for the shadow, if this request is mirrored (a cheap
    /// reference-counted copy).
    pub fn keep_body(&mut self, body: &Bytes) {
        if let Some(shadow) = &mut self.shadow {
            let (_, mirrored) = &mut **shadow;
            mirrored.body = Some(body.clone());
        }
    }
}

/// Picks the version for a request: the one `requirement` asks for, else the canary split,
/// else the default; and marks the request for mirroring when a shadow chooses it.
pub fn select<'a>(
    routes: &TrafficRoutes,
    sticky: &StickyKey,
    namespace: &str,
    head: &Parts,
    requirement: Option<&semver::VersionReq>,
    adapter: &'a AdapterVersions,
    ticket: &mut Ticket,
) -> Option<&'a Routed> {
    if routes.adapters.is_empty() {
        return adapter.select(requirement);
    }
    let Some(traffic) = routes.adapters.get(namespace) else {
        return adapter.select(requirement);
    };
    let mut chosen = None;
    if requirement.is_none()
        && let Some(canary) = &traffic.canary
    {
        let bucket = match sticky.find(&head.headers) {
            Some(key) => sticky::bucket_of(canary.seed, key),
            None => sticky::random_bucket(),
        };
        let arm = if bucket < canary.threshold {
            Arm::Canary
        } else {
            Arm::Baseline
        };
        let side = match arm {
            Arm::Canary => &canary.canary,
            Arm::Baseline => &canary.baseline,
        };
        // A side that is not routable now (removed, quarantined) leaves the request to the
        // default, uncounted: the judge compares the two versions, nothing else.
        if let Some(routed) = adapter.select(Some(side)) {
            if let Some(sampler) = &canary.sampler {
                ticket.canary = Some((sampler.clone(), arm));
            }
            chosen = Some(routed);
        }
    }
    let chosen = chosen.or_else(|| adapter.select(requirement));
    if let (Some(shadow), Some(primary)) = (&traffic.shadow, chosen)
        && matches!(head.method, Method::GET | Method::HEAD)
        && primary.version.identity.version != shadow.target
        && sticky::random_bucket() < shadow.threshold
    {
        shadow.report.note_chosen();
        ticket.shadow = Some(Box::new((
            shadow.clone(),
            Mirrored {
                method: head.method.clone(),
                uri: head.uri.clone(),
                headers: head.headers.clone(),
                body: None,
            },
        )));
    }
    chosen
}
