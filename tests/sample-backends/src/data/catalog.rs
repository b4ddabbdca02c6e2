//! The catalog service: title details from the shared workloads catalog, plus a synopsis.

use frontdoor_workloads::{CATALOG, Title};
use serde::Serialize;

use super::{fnv1a, parse_id};
use crate::http::{Call, Reply, param};

/// The first id of the catalog; ids run up from it without gaps.
pub(crate) const FIRST_ID: u64 = 80_000_000;

/// The most ids one `GET /titles?ids=` may ask for.
pub(crate) const MAX_IDS: usize = 200;

/// A title as the catalog service returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct TitleDoc {
    pub(crate) id: u64,
    pub(crate) title: &'static str,
    pub(crate) year: u32,
    pub(crate) maturity: &'static str,
    pub(crate) genres: &'static [&'static str],
    pub(crate) runtime_min: u32,
    pub(crate) synopsis: String,
}

/// `GET /titles/{id}` and `GET /titles?ids=a,b,c`.
pub(crate) fn answer(call: &Call) -> Reply {
    match (call.method.as_str(), call.segments().as_slice()) {
        ("GET", ["titles"]) => titles(&call.query),
        ("GET", ["titles", id]) => title(id),
        (_, ["titles"] | ["titles", _]) => Reply::method_not_allowed(),
        _ => Reply::no_route(),
    }
}

/// The catalog entry with `id`, if there is one.
pub(crate) fn find(id: u64) -> Option<&'static Title> {
    let index = usize::try_from(id.checked_sub(FIRST_ID)?).ok()?;
    CATALOG.get(index)
}

/// The document for one title.
pub(crate) fn document(title: &'static Title) -> TitleDoc {
    TitleDoc {
        id: title.id,
        title: &title.title,
        year: title.year,
        maturity: title.maturity,
        genres: &title.genres,
        runtime_min: title.runtime_min,
        synopsis: synopsis(title.id),
    }
}

/// A made-up but stable one-line synopsis for the title with `id`.
pub(crate) fn synopsis(id: u64) -> String {
    const WHO: [&str; 8] = [
        "A retired",
        "A reluctant",
        "An ambitious",
        "A grieving",
        "A small-town",
        "A brilliant but reckless",
        "A disgraced",
        "A young",
    ];
    const HERO: [&str; 8] = [
        "detective",
        "chef",
        "astronaut",
        "teacher",
        "smuggler",
        "violinist",
        "engineer",
        "nurse",
    ];
    const GOAL: [&str; 8] = [
        "uncovers a conspiracy",
        "must win one last race",
        "searches for a missing sister",
        "builds an unlikely family",
        "races against a deadline",
        "confronts an old rival",
        "guards a dangerous secret",
        "gets a second chance at love",
    ];
    const WHERE: [&str; 8] = [
        "in 1970s Lisbon",
        "on a remote island",
        "in a city that never sleeps",
        "aboard a failing starship",
        "in a snowed-in village",
        "across the American West",
        "in the heart of Seoul",
        "during one long night in Paris",
    ];
    let hash = fnv1a(&id.to_le_bytes());
    // Each part picks with its own three bits of the hash.
    let pick = |shift: u32| usize::try_from((hash >> shift) & 7).unwrap_or_default();
    format!(
        "{} {} {} {}.",
        WHO[pick(0)],
        HERO[pick(3)],
        GOAL[pick(6)],
        WHERE[pick(9)]
    )
}

fn title(raw: &str) -> Reply {
    let id = match parse_id::<u64>(raw, "title id") {
        Ok(id) => id,
        Err(reply) => return reply,
    };
    match find(id) {
        Some(title) => Reply::ok(document(title)),
        None => Reply::not_found(format!("unknown title {id}")),
    }
}

fn titles(query: &str) -> Reply {
    let Some(ids) = param(query, "ids") else {
        return Reply::bad_request("missing ids");
    };
    let ids = ids.split(',').map(str::trim).filter(|id| !id.is_empty());
    let mut titles = Vec::new();
    for (count, raw) in ids.enumerate() {
        if count == MAX_IDS {
            return Reply::bad_request(format!("more than {MAX_IDS} ids"));
        }
        match parse_id::<u64>(raw, "title id") {
            Ok(id) => titles.extend(find(id).map(document)),
            Err(reply) => return reply,
        }
    }
    Reply::ok(serde_json::json!({ "titles": titles }))
}

#[cfg(test)]
mod tests;
