//! The `playback` adapter: what a device calls when the user presses play.
//!
//! `POST /start` is a sequence with parallel steps: the profile and the title are fetched
//! at once; the maturity check needs both; then the playback decision and the resume
//! position are fetched at once. `PUT /position` saves where the user stopped.
//! Only the resume position is optional: without bookmarks, playback starts at 0.

use frontdoor_plugin_api::{BackendErrorKind, Ctx, Request, Response, serde_json::json};
use futures_util::future::join;
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

#[derive(Deserialize)]
struct Profile {
    maturity_level: String,
}

#[derive(Deserialize)]
struct Title {
    title: String,
    maturity: String,
}

#[derive(Serialize)]
struct DecisionRequest<'a> {
    profile: u64,
    title_id: u64,
    device: &'a str,
}

#[derive(Deserialize, Serialize)]
struct Decision {
    manifest_url: String,
    drm: String,
    max_resolution: String,
    decision_id: String,
}

#[derive(Deserialize)]
struct Bookmarks {
    items: Vec<Bookmark>,
}

#[derive(Deserialize)]
struct Bookmark {
    title_id: u64,
    position_s: u64,
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
    // Step 1, in parallel: who is watching, and what.
    let (profile, title) = join(
        ctx.backend("profiles")
            .get_json::<Profile>(&format!("/profiles/{}", play.profile)),
        ctx.backend("catalog")
            .get_json::<Title>(&format!("/titles/{}", play.title_id)),
    )
    .await;
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
        device: &play.device,
    };
    let (decision, bookmarks) = join(
        ctx.backend("playback")
            .post_json::<_, Decision>("/decisions", &decision_request),
        ctx.backend("bookmarks")
            .get_json::<Bookmarks>(&format!("/bookmarks/{}", play.profile)),
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
        "decision": decision,
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
    let _: serde_json::Value = ctx
        .backend("bookmarks")
        .put_json(
            &format!("/bookmarks/{}/{}", update.profile, update.title_id),
            &json!({ "position_s": update.position_s }),
        )
        .await?;
    Ok(Response::json(&json!({ "saved": true })))
}

#[cfg(test)]
mod tests {
    use super::rank;

    #[test]
    fn ratings_order_from_mild_to_strong() {
        assert!(rank("G") < rank("PG-13"));
        assert!(rank("R") < rank("TV-MA"));
        assert!(rank("unknown") > rank("TV-MA"));
    }
}
