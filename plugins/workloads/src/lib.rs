//! The benchmark workloads W1 and W2 (README, "Benchmarks"), written once.
//!
//! The `bench` adapter serves them through the plugin ABI and the host compiles the very
//! same functions in as its static baseline, so a benchmark compares dispatch, not code.

use std::sync::LazyLock;

use serde::Serialize;

/// W1: the body of `GET /bench/hello`.
pub const HELLO_BODY: &[u8] = br#"{"ok":true}"#;

/// The body of a W2 request whose `profile` is missing or invalid (status 400).
pub const BAD_PROFILE_BODY: &[u8] = br#"{"error":"bad profile"}"#;

/// The body of an unknown path (status 404).
pub const NOT_FOUND_BODY: &[u8] = br#"{"error":"not found"}"#;

/// The W2 query did not carry a valid `profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadProfile;

/// W2: serializes the home page for the query string `query` (without `?`).
///
/// Looks the 40 titles up and serializes the whole document on every call: the workload
/// measures composition and serialization, so nothing is cached but the catalog.
pub fn home(query: &str) -> Result<Vec<u8>, BadProfile> {
    let profile = profile_from_query(query)?;
    let catalog = &*CATALOG;
    let rows = ROW_NAMES
        .iter()
        .enumerate()
        .map(|(r, name)| Row {
            name,
            items: (0..ITEMS_PER_ROW)
                .map(|j| {
                    let title = &catalog[(profile * 31 + r * 17 + j * 7) % CATALOG_SIZE];
                    Item {
                        id: title.id,
                        title: &title.title,
                        year: title.year,
                        boxart: &title.boxart,
                    }
                })
                .collect(),
        })
        .collect();
    let mut body = Vec::with_capacity(4608);
    // Serializing plain structs of numbers and strings into a Vec cannot fail.
    serde_json::to_writer(&mut body, &Home { profile, rows }).map_err(|_| BadProfile)?;
    Ok(body)
}

/// The value of the first `profile=` parameter, which must be 1 to 3 ASCII digits.
pub fn profile_from_query(query: &str) -> Result<usize, BadProfile> {
    let raw = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("profile="))
        .ok_or(BadProfile)?;
    if raw.is_empty() || raw.len() > 3 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadProfile);
    }
    raw.parse().map_err(|_| BadProfile)
}

const CATALOG_SIZE: usize = 200;
const ITEMS_PER_ROW: usize = 10;
const ROW_NAMES: [&str; 4] = [
    "Continue Watching",
    "Trending Now",
    "Top Picks for You",
    "New Releases",
];
const MATURITY: [&str; 5] = ["G", "PG", "PG-13", "R", "TV-MA"];
const GENRES: [&str; 8] = [
    "Action",
    "Comedy",
    "Drama",
    "Horror",
    "Documentary",
    "Thriller",
    "Romance",
    "Sci-Fi",
];

/// One catalog entry, with the fields the workload defines even where W2 does not show them.
#[derive(Debug, Clone)]
pub struct Title {
    pub id: u64,
    pub title: String,
    pub year: u32,
    pub maturity: &'static str,
    pub genres: Vec<&'static str>,
    pub runtime_min: u32,
    pub boxart: String,
}

/// The 200-title catalog, built once on first use.
pub static CATALOG: LazyLock<Vec<Title>> = LazyLock::new(|| (0..CATALOG_SIZE).map(title).collect());

fn title(i: usize) -> Title {
    let id = 80_000_000 + i as u64;
    Title {
        id,
        title: format!("Title {i}"),
        year: 1970 + ((i * 7) % 54) as u32,
        maturity: MATURITY[i % 5],
        genres: (0..2 + i % 2)
            .map(|k| GENRES[(i * 3 + k * 5) % 8])
            .collect(),
        runtime_min: 80 + ((i * 13) % 70) as u32,
        boxart: format!("https://img.example.test/boxart/w342/{id}.jpg"),
    }
}

#[derive(Serialize)]
struct Home<'a> {
    profile: usize,
    rows: Vec<Row<'a>>,
}

#[derive(Serialize)]
struct Row<'a> {
    name: &'a str,
    items: Vec<Item<'a>>,
}

#[derive(Serialize)]
struct Item<'a> {
    id: u64,
    title: &'a str,
    year: u32,
    boxart: &'a str,
}

#[cfg(test)]
mod tests;
