//! The `mobile` adapter: a compact home page for phones. Fewer rows and items than `tv`,
//! small images from the `artwork` shared module's v2 interface (`^2`, loaded beside the
//! v1 modules `tv` uses), and the same parallel fan-out and fallbacks. The backends'
//! answers are typed once, in the `samples` crate.

use artwork2_api::{Artwork, ImageKind};
use frontdoor_plugin_api::{BadRequest, Ctx, Request, Response};
use futures_util::future::join;
use samples::Samples;
use serde::Serialize;

frontdoor_plugin_api::export_adapter! {
    requires: { Artwork },   // module `artwork`, `^2.0`: from artwork2_api's declaration
    routes: {
        GET "/home" => home,
    }
}

/// The row this adapter builds from bookmarks.
const CONTINUE_WATCHING: &str = "Continue Watching";
const ROWS: usize = 3;
const ITEMS_PER_ROW: usize = 5;

#[derive(Serialize)]
struct Home {
    profile: u64,
    rows: Vec<Row>,
    degraded: Vec<&'static str>,
}

#[derive(Serialize)]
struct Row {
    name: String,
    items: Vec<Item>,
}

#[derive(Serialize)]
struct Item {
    id: u64,
    title: String,
    image: String,
}

async fn home(request: Request, ctx: Ctx<Adapter>) -> Result<Response, Box<dyn std::error::Error>> {
    let Ok(profile) = request
        .query_param("profile")
        .unwrap_or_default()
        .parse::<u64>()
    else {
        return Ok(BadRequest("profile must be a number".into()).into_response());
    };
    let artwork = ctx.module::<Artwork>()?;
    let mut degraded = Vec::new();
    let samples = Samples::new(&ctx);
    let (recommended, bookmarks) =
        join(samples.rows(profile, ROWS), samples.bookmarks(profile)).await;
    let mut wanted: Vec<(String, Vec<u64>)> = Vec::new();
    match bookmarks {
        Ok(bookmarks) if !bookmarks.items.is_empty() => {
            wanted.push((
                CONTINUE_WATCHING.into(),
                bookmarks.items.iter().map(|b| b.title_id).collect(),
            ));
        }
        Ok(_) => {}
        Err(_) => degraded.push("bookmarks"),
    }
    match recommended {
        // "Continue Watching" is this adapter's own row, built from bookmarks.
        Ok(recommended) => wanted.extend(
            recommended
                .rows
                .into_iter()
                .filter(|row| row.name != CONTINUE_WATCHING)
                .map(|row| (row.name, row.title_ids)),
        ),
        Err(_) => degraded.push("recommendations"),
    }
    // One catalog call for every title on the page.
    let mut ids: Vec<u64> = wanted
        .iter_mut()
        .flat_map(|(_, row)| {
            row.truncate(ITEMS_PER_ROW);
            row.iter().copied()
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let titles = if ids.is_empty() {
        Vec::new()
    } else {
        match samples.titles(&ids).await {
            Ok(titles) => titles,
            Err(_) => {
                degraded.push("catalog");
                Vec::new()
            }
        }
    };
    let mut rows = Vec::with_capacity(wanted.len());
    for (name, row) in wanted {
        let mut items = Vec::with_capacity(row.len());
        for id in row {
            if let Some(title) = titles.iter().find(|title| title.id == id) {
                items.push(Item {
                    id,
                    title: title.title.clone(),
                    image: artwork.image_url(id, ImageKind::BoxArt, 185)?.into_string(),
                });
            }
        }
        if !items.is_empty() {
            rows.push(Row { name, items });
        }
    }
    Ok(Response::json(&Home {
        profile,
        rows,
        degraded,
    }))
}

#[cfg(test)]
mod tests;
