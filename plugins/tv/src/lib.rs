//! The `tv` adapter: a 10-foot home page. Large box art, and a hero image for the first
//! title, both from the `artwork` shared module (`^1.1`: it needs `hero_url`, added in 1.1).
//!
//! Titles come from the workloads catalog for now; the backend fan-out replaces it when
//! backends land (issue #5).

use artwork_api::ArtworkRef;
use frontdoor_plugin_api::{BadRequest, Ctx, Request, Response};
use frontdoor_workloads::CATALOG;
use serde::Serialize;

frontdoor_plugin_api::export_adapter! {
    requires: { "artwork" "^1.1" => ArtworkRef },
    routes: {
        GET "/home" => home,
    }
}

const ROW_NAMES: [&str; 3] = ["Continue Watching", "Trending Now", "New Releases"];
const ROW_LENGTH: usize = 8;

#[derive(Serialize)]
struct Home {
    profile: usize,
    hero: String,
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
    boxart: String,
}

async fn home(request: Request, ctx: Ctx) -> Result<Response, Box<dyn std::error::Error>> {
    let Ok(profile) = frontdoor_workloads::profile_from_query(request.query()) else {
        return Ok(BadRequest("profile must be 1 to 3 digits".into()).into_response());
    };
    let artwork = ctx.module::<ArtworkRef>()?;
    let pick = |row: usize, column: usize| {
        &CATALOG[(profile * 31 + row * 17 + column * 7) % CATALOG.len()]
    };
    let hero = (artwork.hero_url())(pick(0, 0).id)
        .into_result()?
        .into_string();
    let mut rows = Vec::with_capacity(ROW_NAMES.len());
    for (row, name) in ROW_NAMES.iter().enumerate() {
        let mut items = Vec::with_capacity(ROW_LENGTH);
        for column in 0..ROW_LENGTH {
            let title = pick(row, column);
            items.push(Item {
                id: title.id,
                title: title.title.clone(),
                boxart: (artwork.boxart_url())(title.id, 342)
                    .into_result()?
                    .into_string(),
            });
        }
        rows.push(Row { name, items });
    }
    Ok(Response::json(&Home {
        profile,
        hero,
        rows,
    }))
}
