//! The `tv` adapter: the 10-foot home page. One device request fans out, in parallel, to
//! profiles, recommendations and bookmarks, then to the catalog for every row at once, and
//! composes rows with large box art and a hero image from the `artwork` shared module
//! (`^1.1`: it needs `hero_url`, added in 1.1). The backends' answers are typed once, in
//! the `samples` crate.
//!
//! It degrades instead of failing: without bookmarks there is no "Continue Watching" row,
//! without recommendations a fixed "Popular" row, without a profile the defaults; the
//! response lists what was degraded.

use artwork_api::Artwork;
use frontdoor_plugin_api::{BadRequest, Ctx, Request, Response};
use futures_util::future::{join_all, join3};
use samples::Samples;
use serde::Serialize;

frontdoor_plugin_api::export_adapter! {
    requires: { Artwork },   // module `artwork`, `^1.1`: from artwork_api's declaration
    routes: {
        GET "/home" => home,
    }
}

/// The row this adapter builds from bookmarks.
const CONTINUE_WATCHING: &str = "Continue Watching";
/// Rows asked of recommendations for a 10-foot screen.
const ROWS: usize = 6;
/// Titles shown when recommendations are down.
const POPULAR: [u64; 10] = [
    80_000_000, 80_000_007, 80_000_014, 80_000_021, 80_000_028, 80_000_035, 80_000_042, 80_000_049,
    80_000_056, 80_000_063,
];

#[derive(Serialize)]
struct Home {
    profile: u64,
    greeting: String,
    maturity_level: String,
    hero: Option<String>,
    rows: Vec<Row>,
    /// Backends whose failure was absorbed by a fallback.
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
    year: u32,
    maturity: String,
    boxart: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    resume_at_s: Option<u64>,
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
    let samples = Samples::new(&ctx);
    let mut degraded = Vec::new();

    let (who, recommended, bookmarks) = join3(
        samples.profile(profile),
        samples.rows(profile, ROWS),
        samples.bookmarks(profile),
    )
    .await;
    let (greeting, maturity_level) = match who {
        Ok(who) => (format!("Welcome back, {}", who.name), who.maturity_level),
        Err(_) => {
            degraded.push("profiles");
            ("Welcome".to_owned(), "TV-14".to_owned())
        }
    };
    let mut wanted: Vec<(String, Vec<u64>)> = Vec::new();
    let bookmarks = match bookmarks {
        Ok(bookmarks) => bookmarks.items,
        Err(_) => {
            degraded.push("bookmarks");
            Vec::new()
        }
    };
    if !bookmarks.is_empty() {
        wanted.push((
            CONTINUE_WATCHING.into(),
            bookmarks.iter().map(|b| b.title_id).collect(),
        ));
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
        Err(_) => {
            degraded.push("recommendations");
            wanted.push(("Popular".into(), POPULAR.to_vec()));
        }
    }

    // Every row's titles in parallel, one batch call per row.
    let batches = join_all(wanted.iter().map(|(_, ids)| samples.titles(ids))).await;
    let mut rows = Vec::with_capacity(wanted.len());
    for ((name, _), batch) in wanted.into_iter().zip(batches) {
        let Ok(titles) = batch else {
            if !degraded.contains(&"catalog") {
                degraded.push("catalog");
            }
            continue;
        };
        let mut items = Vec::with_capacity(titles.len());
        for title in titles {
            items.push(Item {
                boxart: artwork.boxart_url(title.id, 342)?.into_string(),
                resume_at_s: bookmarks
                    .iter()
                    .find(|b| b.title_id == title.id)
                    .map(|b| b.position_s),
                id: title.id,
                title: title.title,
                year: title.year,
                maturity: title.maturity,
            });
        }
        rows.push(Row { name, items });
    }
    let hero = match rows.iter().flat_map(|row| row.items.first()).next() {
        Some(first) => Some(artwork.hero_url(first.id)?.into_string()),
        None => None,
    };
    Ok(Response::json(&Home {
        profile,
        greeting,
        maturity_level,
        hero,
        rows,
        degraded,
    }))
}

#[cfg(test)]
mod tests;
