//! The playback service: decides how a profile plays a title on a device.

use serde::{Deserialize, Serialize};

use super::{catalog, fnv1a, profiles};
use crate::http::{Call, Reply};

/// The longest device name accepted.
pub(crate) const MAX_DEVICE_LEN: usize = 32;

/// A playback decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Decision {
    pub(crate) title_id: u64,
    pub(crate) manifest_url: String,
    pub(crate) drm: &'static str,
    pub(crate) max_resolution: &'static str,
    /// Stable for the same profile, title and device.
    pub(crate) decision_id: String,
}

/// The body of `POST /decisions`; other fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct DecisionRequest {
    pub(crate) profile: u64,
    pub(crate) title_id: u64,
    pub(crate) device: String,
}

/// `POST /decisions`.
pub(crate) fn answer(call: &Call) -> Reply {
    match (call.method.as_str(), call.segments().as_slice()) {
        ("POST", ["decisions"]) => match serde_json::from_slice::<DecisionRequest>(&call.body) {
            Ok(request) => decide(&request),
            Err(error) => Reply::bad_request(format!("bad decision request: {error}")),
        },
        (_, ["decisions"]) => Reply::method_not_allowed(),
        _ => Reply::no_route(),
    }
}

/// 400 for a device name that is empty, too long or not `[a-z0-9_-]`; 404 for an unknown
/// profile or title; the decision otherwise.
pub(crate) fn decide(request: &DecisionRequest) -> Reply {
    let device = request.device.as_str();
    let plain = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_';
    if device.is_empty() || device.len() > MAX_DEVICE_LEN || !device.bytes().all(plain) {
        return Reply::bad_request(format!("bad device {device:?}"));
    }
    if request.profile >= u64::from(profiles::PROFILES) {
        return Reply::not_found(format!("unknown profile {}", request.profile));
    }
    if catalog::find(request.title_id).is_none() {
        return Reply::not_found(format!("unknown title {}", request.title_id));
    }
    let max_resolution = match device {
        "tv" => "2160p",
        "mobile" => "720p",
        _ => "1080p",
    };
    let key = format!("{}:{}:{device}", request.profile, request.title_id);
    Reply::ok(Decision {
        title_id: request.title_id,
        manifest_url: format!(
            "https://cdn.example.test/manifests/{}/{max_resolution}.mpd",
            request.title_id
        ),
        drm: if device == "tv" {
            "playready"
        } else {
            "widevine"
        },
        max_resolution,
        decision_id: format!("{:016x}", fnv1a(key.as_bytes())),
    })
}

#[cfg(test)]
mod tests;
