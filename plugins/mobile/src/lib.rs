//! The `mobile` adapter: a compact home page, fewer rows and small images, from the
//! `artwork` shared module's v2 interface (`^2`), loaded beside the v1 modules `tv` uses.
//!
//! Titles come from the workloads catalog for now; the backend fan-out replaces it when
//! backends land (issue #5).

use artwork2_api::{ArtworkRef, ImageKind};
use frontdoor_plugin_api::{BadRequest, Ctx, Request, Response};
use frontdoor_workloads::CATALOG;
use serde::Serialize;

frontdoor_plugin_api::export_adapter! {
    requires: { "artwork" "^2" => ArtworkRef },
    routes: {
        GET "/home" => home,
    }
}

const ROW_NAMES: [&str; 2] = ["Continue Watching", "Top Picks"];
const ROW_LENGTH: usize = 5;

#[derive(Serialize)]
struct Home {
    profile: usize,
    rows: Vec<Row>,
}

#[derive(Serialize)]
struct Row {
    name: &'static str,
    items: Vec<Item>,
}

#[derive(Serialize)]
struct Item {
    id: u64,
    title: String,
    image: String,
}

async fn home(request: Request, ctx: Ctx) -> Result<Response, Box<dyn std::error::Error>> {
    let Ok(profile) = frontdoor_workloads::profile_from_query(request.query()) else {
        return Ok(BadRequest("profile must be 1 to 3 digits".into()).into_response());
    };
    let artwork = ctx.module::<ArtworkRef>()?;
    let mut rows = Vec::with_capacity(ROW_NAMES.len());
    for (row, name) in ROW_NAMES.iter().enumerate() {
        let mut items = Vec::with_capacity(ROW_LENGTH);
        for column in 0..ROW_LENGTH {
            let title = &CATALOG[(profile * 13 + row * 11 + column * 3) % CATALOG.len()];
            items.push(Item {
                id: title.id,
                title: title.title.clone(),
                image: (artwork.image_url())(title.id, ImageKind::BoxArt, 185)
                    .into_result()?
                    .into_string(),
            });
        }
        rows.push(Row { name, items });
    }
    Ok(Response::json(&Home { profile, rows }))
}
