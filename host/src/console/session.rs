//! Console sessions: a login turns a token into a random session id (128 bits from the OS's
//! CSPRNG) held in an HttpOnly, SameSite=Strict cookie scoped to `/console`; the host keeps
//! the session's principal (never the token), its CSRF token and its expiry in a bounded
//! table. CSRF tokens are compared in constant time.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use hyper::{HeaderMap, header::COOKIE};
use subtle::ConstantTimeEq as _;

use crate::control::Principal;

/// The cookie's name.
pub const COOKIE_NAME: &str = "frontdoor_console";
/// How long a session lives after its login.
pub const LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);
/// Sessions kept at most; a login past it evicts the session closest to its expiry.
pub const MAX_SESSIONS: usize = 1024;

/// One logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    /// The token's team (`loopback` on a host without tokens), for display.
    pub team: String,
    /// Every form of this session carries it; checked on every POST.
    pub csrf: String,
    expires: Instant,
    /// A message for the next page this session sees (the outcome of an action).
    pub flash: Option<String>,
}

/// The sessions of one host.
#[derive(Default)]
pub struct Sessions {
    table: Mutex<HashMap<String, Session>>,
}

/// Why a random value could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("the system's random number generator failed: {0}")]
pub struct RandomError(String);

impl Sessions {
    /// Opens a session for `principal`; its id, for the cookie.
    pub fn open(&self, principal: Principal, team: String) -> Result<String, RandomError> {
        let id = random_hex()?;
        let session = Session {
            principal,
            team,
            csrf: random_hex()?,
            expires: Instant::now() + LIFETIME,
            flash: None,
        };
        let mut table = self.lock();
        let now = Instant::now();
        table.retain(|_, session| session.expires > now);
        if table.len() >= MAX_SESSIONS
            && let Some(oldest) = table
                .iter()
                .min_by_key(|(_, session)| session.expires)
                .map(|(id, _)| id.clone())
        {
            table.remove(&oldest);
        }
        table.insert(id.clone(), session);
        Ok(id)
    }

    /// The live session named by the request's cookie.
    pub fn find(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie_value(headers)?;
        let mut table = self.lock();
        match table.get(id) {
            Some(session) if session.expires > Instant::now() => Some(session.clone()),
            Some(_) => {
                table.remove(id);
                None
            }
            None => None,
        }
    }

    /// Takes the session's flash message, if any.
    pub fn take_flash(&self, headers: &HeaderMap) -> Option<String> {
        let id = cookie_value(headers)?;
        self.lock().get_mut(id)?.flash.take()
    }

    /// Leaves `message` for the session's next page.
    pub fn set_flash(&self, headers: &HeaderMap, message: String) {
        if let Some(id) = cookie_value(headers)
            && let Some(session) = self.lock().get_mut(id)
        {
            session.flash = Some(message);
        }
    }

    /// Ends the request's session.
    pub fn close(&self, headers: &HeaderMap) {
        if let Some(id) = cookie_value(headers) {
            self.lock().remove(id);
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        // Plain data: a panic elsewhere while holding it leaves it usable.
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Session {
    /// True when `presented` is this session's CSRF token (constant time in its bytes).
    pub fn csrf_matches(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|presented| {
            presented.len() == self.csrf.len()
                && bool::from(presented.as_bytes().ct_eq(self.csrf.as_bytes()))
        })
    }
}

/// The `Set-Cookie` value of session `id`: HttpOnly (no script reads it), SameSite=Strict
/// (no other site's page sends it), scoped to the console's paths.
pub fn set_cookie(id: &str) -> String {
    format!(
        "{COOKIE_NAME}={id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}",
        LIFETIME.as_secs()
    )
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The session id in the request's `Cookie` headers.
fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value)
        .filter(|value| value.len() == 32 && value.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// 128 random bits from the OS, as 32 lowercase hex digits.
fn random_hex() -> Result<String, RandomError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|error| RandomError(error.to_string()))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

#[cfg(test)]
mod tests;
