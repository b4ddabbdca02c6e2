//! The profiles service: a thousand made-up viewer profiles, ids 0 to 999.

use serde::Serialize;

use super::parse_id;
use crate::http::{Call, Reply};

/// Profiles exist for ids `0..PROFILES`.
pub(crate) const PROFILES: u32 = 1000;

/// A profile as the profiles service returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Profile {
    pub(crate) id: u32,
    pub(crate) name: &'static str,
    /// The highest rating the profile may watch, on the catalog's scale.
    pub(crate) maturity_level: &'static str,
    pub(crate) language: &'static str,
    pub(crate) avatar_url: String,
}

/// `GET /profiles/{id}`.
pub(crate) fn answer(call: &Call) -> Reply {
    match (call.method.as_str(), call.segments().as_slice()) {
        ("GET", ["profiles", id]) => match parse(id) {
            Ok(id) => Reply::ok(profile(id)),
            Err(reply) => reply,
        },
        (_, ["profiles", _]) => Reply::method_not_allowed(),
        _ => Reply::no_route(),
    }
}

/// Parses a profile id as every service does: 400 if it is not a number, 404 if no such profile.
pub(crate) fn parse(raw: &str) -> Result<u32, Reply> {
    let id = parse_id::<u32>(raw, "profile id")?;
    if id < PROFILES {
        Ok(id)
    } else {
        Err(Reply::not_found(format!("unknown profile {id}")))
    }
}

/// The profile with `id`, which must be below [`PROFILES`].
pub(crate) fn profile(id: u32) -> Profile {
    const NAMES: [&str; 16] = [
        "Ada", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
        "Kemi", "Luca", "Maya", "Nils", "Olga", "Pablo",
    ];
    const LEVELS: [&str; 5] = ["TV-MA", "R", "PG-13", "PG", "G"];
    const LANGUAGES: [&str; 7] = [
        "en-US", "es-MX", "fr-FR", "de-DE", "ja-JP", "pt-BR", "ko-KR",
    ];
    let i = id as usize;
    let maturity_level = LEVELS[i % LEVELS.len()];
    Profile {
        id,
        // Every fifth profile is a kids profile, named like one.
        name: if maturity_level == "G" {
            "Kids"
        } else {
            NAMES[(i * 7) % NAMES.len()]
        },
        maturity_level,
        language: LANGUAGES[(i / 5) % LANGUAGES.len()],
        avatar_url: format!("https://img.example.test/avatars/{:02}.png", (i * 13) % 40),
    }
}

#[cfg(test)]
mod tests;
