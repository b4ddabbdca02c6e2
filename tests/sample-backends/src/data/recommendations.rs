//! The recommendations service: rows of ten catalog titles per profile.
//!
//! The first four rows pick the same titles as the W2 home page of `frontdoor-workloads`.

use frontdoor_workloads::CATALOG;
use serde::Serialize;

use super::{parse_id, profiles};
use crate::http::{Call, Reply, param};

/// Rows returned when the query does not say `count`.
pub(crate) const DEFAULT_ROWS: usize = 4;

/// Titles per row.
pub(crate) const TITLES_PER_ROW: usize = 10;

/// The row names, in order; `count` takes a prefix of them.
pub(crate) const ROW_NAMES: [&str; 10] = [
    "Continue Watching",
    "Trending Now",
    "Top Picks for You",
    "New Releases",
    "Critically Acclaimed",
    "Watch It Again",
    "Hidden Gems",
    "Award-Winning Dramas",
    "Binge-Worthy Series",
    "Only on Frontdoor",
];

/// The rows for one profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Rows {
    pub(crate) profile: u32,
    pub(crate) rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Row {
    pub(crate) name: &'static str,
    pub(crate) title_ids: Vec<u64>,
}

/// `GET /rows?profile={id}&count={n}`.
pub(crate) fn answer(call: &Call) -> Reply {
    match (call.method.as_str(), call.segments().as_slice()) {
        ("GET", ["rows"]) => match query(&call.query) {
            Ok((profile, count)) => Reply::ok(rows(profile, count)),
            Err(reply) => reply,
        },
        (_, ["rows"]) => Reply::method_not_allowed(),
        _ => Reply::no_route(),
    }
}

/// The first `count` rows (at most [`ROW_NAMES`]`.len()`) for `profile`.
pub(crate) fn rows(profile: u32, count: usize) -> Rows {
    let catalog = &*CATALOG;
    let p = profile as usize;
    let rows = ROW_NAMES
        .iter()
        .take(count)
        .enumerate()
        .map(|(r, &name)| Row {
            name,
            title_ids: (0..TITLES_PER_ROW)
                .map(|j| catalog[(p * 31 + r * 17 + j * 7) % catalog.len()].id)
                .collect(),
        })
        .collect();
    Rows { profile, rows }
}

/// The profile (required) and the row count (1 to 10, default 4) from the query string.
fn query(query: &str) -> Result<(u32, usize), Reply> {
    let profile = param(query, "profile").ok_or_else(|| Reply::bad_request("missing profile"))?;
    let profile = profiles::parse(&profile)?;
    let count = match param(query, "count") {
        None => DEFAULT_ROWS,
        Some(raw) => parse_id::<usize>(&raw, "count")?,
    };
    if !(1..=ROW_NAMES.len()).contains(&count) {
        return Err(Reply::bad_request(format!(
            "count must be from 1 to {}, got {count}",
            ROW_NAMES.len()
        )));
    }
    Ok((profile, count))
}

#[cfg(test)]
mod tests;
