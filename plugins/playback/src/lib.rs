//! The `playback` adapter: what a device calls when the user presses play.
//!
//! `POST /start` is a sequence with parallel steps: the profile and the title are fetched
//! at once; the maturity check needs both; then the playback decision and the resume
//! position are fetched at once. `PUT /position` saves where the user stopped.
//! Only the resume position is optional: without bookmarks, playback starts at 0. The
//! backends' answers are typed once, in the `samples` crate.

use frontdoor_plugin_api::{BackendErrorKind, Ctx, Request, Response, serde_json::json};
use futures_util::future::join;
use samples::{DecisionRequest, Samples};
use serde::{Deserialize, Serialize};

frontdoor_plugin_api::export_adapter! {
    routes: {
        POST "/start" => start,
        PUT "/position" => position,
    }
}

#[derive(Deserialize)]
struct StartRequest {
    profile: u64,
    title_id: u64,
    device: String,
}

/// The decision as devices get it (the title id is theirs already).
#[derive(Serialize)]
struct DeviceDecision<'a> {
    manifest_url: &'a str,
    drm: &'a str,
    max_resolution: &'a str,
    decision_id: &'a str,
}

/// Maturity ratings from mildest to strongest.
const MATURITY: [&str; 7] = ["G", "PG", "TV-PG", "PG-13", "TV-14", "R", "TV-MA"];

fn rank(rating: &str) -> usize {
    MATURITY
        .iter()
        .position(|r| *r == rating)
        .unwrap_or(MATURITY.len())
}

async fn start(request: Request, ctx: Ctx) -> Result<Response, Box<dyn std::error::Error>> {
    let play: StartRequest = match request.json() {
        Ok(play) => play,
        Err(bad) => return Ok(bad.into_response()),
    };
    let samples = Samples::new(&ctx);
    // Step 1, in parallel: who is watching, and what.
    let (profile, title) = join(samples.profile(play.profile), samples.title(play.title_id)).await;
    let title = match title {
        Ok(title) => title,
        Err(error) if error.kind == BackendErrorKind::Status && error.status == 404 => {
            return Ok(Response::json_with_status(
                404,
                &json!({ "error": "no such title" }),
            ));
        }
        Err(error) => return Err(error.into()),
    };
    let profile = profile?;
    // Step 2, needs both.
    if rank(&title.maturity) > rank(&profile.maturity_level) {
        return Ok(Response::json_with_status(
            403,
            &json!({ "error": "maturity", "detail": format!("{} is rated {}", title.title, title.maturity) }),
        ));
    }
    // Step 3, in parallel: the decision, and where to resume.
    let decision_request = DecisionRequest {
        profile: play.profile,
        title_id: play.title_id,
        device: play.device,
    };
    let (decision, bookmarks) = join(
        samples.decision(&decision_request),
        samples.bookmarks(play.profile),
    )
    .await;
    let decision = decision?;
    let resume_from_s = bookmarks
        .ok()
        .and_then(|b| {
            b.items
                .into_iter()
                .find(|item| item.title_id == play.title_id)
        })
        .map_or(0, |item| item.position_s);
    Ok(Response::json(&json!({
        "title": title.title,
        "resume_from_s": resume_from_s,
        "decision": DeviceDecision {
            manifest_url: &decision.manifest_url,
            drm: &decision.drm,
            max_resolution: &decision.max_resolution,
            decision_id: &decision.decision_id,
        },
    })))
}

#[derive(Deserialize)]
struct PositionRequest {
    profile: u64,
    title_id: u64,
    position_s: u64,
}

async fn position(request: Request, ctx: Ctx) -> Result<Response, Box<dyn std::error::Error>> {
    let update: PositionRequest = match request.json() {
        Ok(update) => update,
        Err(bad) => return Ok(bad.into_response()),
    };
    Samples::new(&ctx)
        .save_position(update.profile, update.title_id, update.position_s)
        .await?;
    Ok(Response::json(&json!({ "saved": true })))
}

#[cfg(test)]
mod tests;
