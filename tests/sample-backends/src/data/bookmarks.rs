//! The bookmarks service: where each profile stopped watching, seeded and writable.
//!
//! Every profile starts with three bookmarks on the first titles of its "Continue Watching"
//! row; writes live in memory until the process ends and override the seed.

use std::{
    collections::BTreeMap,
    sync::{Mutex, MutexGuard, PoisonError},
};

use serde::{Deserialize, Serialize};

use super::{catalog, parse_id, profiles, recommendations};
use crate::http::{Call, Reply};

/// Seeded bookmarks per profile.
pub(crate) const SEEDED: usize = 3;

/// When the seeded bookmarks were "written": 2023-11-14, Unix milliseconds.
pub(crate) const SEED_EPOCH_MS: u64 = 1_700_000_000_000;

/// One bookmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Bookmark {
    pub(crate) title_id: u64,
    pub(crate) position_s: u64,
    pub(crate) updated_ms: u64,
}

/// The answer to `GET /bookmarks/{profile}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Listing {
    pub(crate) profile: u32,
    pub(crate) items: Vec<Bookmark>,
}

/// The bookmarks written since start, by profile and title. At most 1000 × 200 entries.
#[derive(Debug, Default)]
pub(crate) struct Store {
    written: Mutex<BTreeMap<(u32, u64), Bookmark>>,
}

/// `GET /bookmarks/{profile}` and `PUT /bookmarks/{profile}/{title_id}`.
pub(crate) fn answer(store: &Store, call: &Call, now_ms: u64) -> Reply {
    match (call.method.as_str(), call.segments().as_slice()) {
        ("GET", ["bookmarks", profile]) => match profiles::parse(profile) {
            Ok(profile) => Reply::ok(Listing {
                profile,
                items: store.list(profile),
            }),
            Err(reply) => reply,
        },
        ("PUT", ["bookmarks", profile, title]) => put(store, profile, title, &call.body, now_ms),
        (_, ["bookmarks", _]) | (_, ["bookmarks", _, _]) => Reply::method_not_allowed(),
        _ => Reply::no_route(),
    }
}

/// The seeded bookmarks of `profile`, most recent first.
pub(crate) fn seed(profile: u32) -> Vec<Bookmark> {
    let row = recommendations::rows(profile, 1);
    let p = u64::from(profile);
    row.rows[0]
        .title_ids
        .iter()
        .take(SEEDED)
        .zip(0u64..)
        .map(|(&title_id, k)| {
            let runtime_s = catalog::find(title_id).map_or(0, |title| title.runtime_min) * 60;
            // Somewhere between 5% and 94% of the way through.
            let percent = (p + k * 37) % 90 + 5;
            Bookmark {
                title_id,
                position_s: u64::from(runtime_s) * percent / 100,
                updated_ms: SEED_EPOCH_MS + p * 3_600_000 - k * 60_000,
            }
        })
        .collect()
}

impl Store {
    /// The bookmarks of `profile`: the seed, overridden and extended by writes, most
    /// recently updated first.
    pub(crate) fn list(&self, profile: u32) -> Vec<Bookmark> {
        let mut items: BTreeMap<u64, Bookmark> = seed(profile)
            .into_iter()
            .map(|bookmark| (bookmark.title_id, bookmark))
            .collect();
        for (&(_, title_id), &bookmark) in self.lock().range((profile, 0)..=(profile, u64::MAX)) {
            items.insert(title_id, bookmark);
        }
        let mut items: Vec<Bookmark> = items.into_values().collect();
        items.sort_by_key(|bookmark| (std::cmp::Reverse(bookmark.updated_ms), bookmark.title_id));
        items
    }

    /// Records where `profile` stopped in `title_id`.
    pub(crate) fn write(&self, profile: u32, bookmark: Bookmark) {
        self.lock().insert((profile, bookmark.title_id), bookmark);
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(u32, u64), Bookmark>> {
        // Nothing panics while the lock is held; a poisoned map is still consistent.
        self.written.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The body of a `PUT`: other fields are ignored.
#[derive(Debug, Deserialize)]
struct Position {
    position_s: u64,
}

fn put(store: &Store, profile: &str, title: &str, body: &[u8], now_ms: u64) -> Reply {
    let profile = match profiles::parse(profile) {
        Ok(profile) => profile,
        Err(reply) => return reply,
    };
    let title_id = match parse_id::<u64>(title, "title id") {
        Ok(id) => id,
        Err(reply) => return reply,
    };
    let position: Position = match serde_json::from_slice(body) {
        Ok(position) => position,
        Err(error) => return Reply::bad_request(format!("bad bookmark: {error}")),
    };
    let Some(title) = catalog::find(title_id) else {
        return Reply::not_found(format!("unknown title {title_id}"));
    };
    let runtime_s = u64::from(title.runtime_min) * 60;
    if position.position_s > runtime_s {
        return Reply::bad_request(format!(
            "position_s {} is past the end of title {title_id} ({runtime_s} s)",
            position.position_s
        ));
    }
    store.write(
        profile,
        Bookmark {
            title_id,
            position_s: position.position_s,
            updated_ms: now_ms,
        },
    );
    Reply::ok(serde_json::json!({ "ok": true }))
}

#[cfg(test)]
mod tests;
