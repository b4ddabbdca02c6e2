//! Who may do what on the admin listener: bearer tokens kept as SHA-256 digests, each with
//! a team and scopes, and an ownership map (adapter or module name → team).
//!
//! A presented token is hashed and its digest compared with every configured digest in
//! constant time, all of them every time, so neither the comparison nor the position of a
//! match leaks through timing. The config never holds a token in clear.

use std::collections::BTreeMap;

use hyper::{
    HeaderMap, StatusCode,
    header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE},
};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::error_response::EdgeError;

/// Longest token considered: anything longer is refused without hashing it.
const MAX_TOKEN_BYTES: usize = 1024;

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Every `GET` of the admin API.
    Read,
    /// `read`, and changes to the adapters and shared modules its team owns.
    Deploy,
    /// Everything.
    Admin,
}

/// What a request asks to do.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// Look (every `GET`).
    Read,
    /// Change something about one adapter or shared module, by name (owners and admins).
    Change(&'a str),
    /// Change the host itself (the log level): admins only.
    ChangeHost,
}

/// Who is asking, once authorized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's team; `loopback` on a host without tokens.
    pub team: String,
}

/// Who a console session acts as: the digest of the token it logged in with (kept only in
/// the host's session table, never sent to the browser), or nobody on a host without
/// tokens. Authorized exactly like a bearer token, by [`AuthConfig::authorize_principal`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    digest: Option<[u8; 32]>,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The digest stays out of logs like the token does.
        f.write_str("Principal")
    }
}

/// One configured token.
#[derive(Debug, Clone)]
struct Token {
    team: String,
    digest: [u8; 32],
    scopes: Vec<Scope>,
}

/// The resolved `[admin_auth]` table.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    tokens: Vec<Token>,
    /// Adapter or shared-module name → the team that owns it.
    pub owners: BTreeMap<String, String>,
}

/// The `[admin_auth]` table of `frontdoor.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthFileConfig {
    #[serde(default)]
    tokens: Vec<TokenFileConfig>,
    #[serde(default)]
    owners: BTreeMap<String, String>,
}

/// `[[admin_auth.tokens]]`: no field can hold a token in clear (unknown fields are refused).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFileConfig {
    team: String,
    /// `printf %s TOKEN | sha256sum`, or `frontdoor ctl hash-token`.
    sha256: String,
    scopes: Vec<Scope>,
}

impl AuthFileConfig {
    pub fn resolve(self) -> Result<AuthConfig, String> {
        let mut tokens = Vec::with_capacity(self.tokens.len());
        for (index, token) in self.tokens.into_iter().enumerate() {
            let digest = parse_digest(&token.sha256).ok_or_else(|| {
                format!(
                    "admin_auth.tokens[{index}] (team {}): sha256 must be the 64 hex digits of a \
                     token's SHA-256 digest (printf %s TOKEN | sha256sum), never the token itself",
                    token.team
                )
            })?;
            if token.team.trim().is_empty() {
                return Err(format!("admin_auth.tokens[{index}]: team is empty"));
            }
            if token.scopes.is_empty() {
                return Err(format!(
                    "admin_auth.tokens[{index}] (team {}): scopes is empty (read, deploy, admin)",
                    token.team
                ));
            }
            if tokens.iter().any(|known: &Token| known.digest == digest) {
                return Err(format!(
                    "admin_auth.tokens[{index}] (team {}): the same digest is configured twice",
                    token.team
                ));
            }
            tokens.push(Token {
                team: token.team,
                digest,
                scopes: token.scopes,
            });
        }
        Ok(AuthConfig {
            tokens,
            owners: self.owners,
        })
    }
}

impl AuthConfig {
    /// True when tokens are configured: every admin request then needs one.
    pub fn enabled(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// Adds a token by its digest (for hosts configured in code, such as tests).
    pub fn add_token(&mut self, team: &str, sha256_hex: &str, scopes: &[Scope]) -> bool {
        let Some(digest) = parse_digest(sha256_hex) else {
            return false;
        };
        self.tokens.push(Token {
            team: team.to_owned(),
            digest,
            scopes: scopes.to_vec(),
        });
        true
    }

    /// Checks the request's bearer token against `action`: the caller, or the JSON error to
    /// answer (401 without a known token, 403 when the token does not allow it).
    pub fn authorize(&self, headers: &HeaderMap, action: Action<'_>) -> Result<Caller, EdgeError> {
        if !self.enabled() {
            // Only reachable from loopback: `check_listen` refuses anything else.
            return Ok(Caller {
                team: "loopback".to_owned(),
            });
        }
        let token = self.identify(headers)?;
        self.check(token, action)
    }

    /// Checks a console session's [`Principal`] against `action`, as [`Self::authorize`]
    /// checks a bearer token: a principal whose token is no longer configured is a 401.
    pub fn authorize_principal(
        &self,
        principal: &Principal,
        action: Action<'_>,
    ) -> Result<Caller, EdgeError> {
        if !self.enabled() {
            return Ok(Caller {
                team: "loopback".to_owned(),
            });
        }
        let token = principal
            .digest
            .and_then(|digest| self.find(&digest))
            .ok_or_else(|| unauthorized("the session's token is not known"))?;
        self.check(token, action)
    }

    /// The principal a presented `token` logs a console session in as, once it may read;
    /// on a host without tokens, anyone (loopback only) logs in as `loopback`.
    pub fn login(&self, token: &str) -> Result<(Principal, Caller), EdgeError> {
        if !self.enabled() {
            let principal = Principal { digest: None };
            return self
                .authorize_principal(&principal, Action::Read)
                .map(|caller| (principal, caller));
        }
        let presented = token.trim().as_bytes();
        let valid = !presented.is_empty()
            && presented.len() <= MAX_TOKEN_BYTES
            && presented.iter().all(|byte| byte.is_ascii_graphic());
        if !valid {
            return Err(unauthorized("the token is not known"));
        }
        let digest: [u8; 32] = Sha256::digest(presented).into();
        let token = self
            .find(&digest)
            .ok_or_else(|| unauthorized("the token is not known"))?;
        let caller = self.check(token, Action::Read)?;
        Ok((
            Principal {
                digest: Some(digest),
            },
            caller,
        ))
    }

    /// The caller `token` is, if it allows `action`; the 403 that says why not otherwise.
    fn check(&self, token: &Token, action: Action<'_>) -> Result<Caller, EdgeError> {
        if allows(token, &self.owners, action) {
            return Ok(Caller {
                team: token.team.clone(),
            });
        }
        let detail = match action {
            Action::Read => format!("the token of team {} has no read scope", token.team),
            Action::Change(name) => match self.owners.get(name) {
                Some(owner) => format!(
                    "the token of team {} may not change {name}: it is owned by {owner}",
                    token.team
                ),
                None => format!(
                    "the token of team {} may not change {name}: no team owns it (admin only)",
                    token.team
                ),
            },
            Action::ChangeHost => format!(
                "the token of team {} may not change the host (admin only)",
                token.team
            ),
        };
        Err(EdgeError::new(StatusCode::FORBIDDEN, "forbidden", detail))
    }

    /// The configured token the request carries.
    fn identify(&self, headers: &HeaderMap) -> Result<&Token, EdgeError> {
        let Some(value) = headers.get(AUTHORIZATION) else {
            return Err(unauthorized("an Authorization: Bearer token is required"));
        };
        let presented = bearer_token(value)
            .ok_or_else(|| unauthorized("the Authorization header is not a Bearer token"))?;
        let digest: [u8; 32] = Sha256::digest(presented).into();
        self.find(&digest)
            .ok_or_else(|| unauthorized("the token is not known"))
    }

    /// The configured token of `digest`. Every digest is compared, whichever matches: no
    /// early exit to time.
    fn find(&self, digest: &[u8; 32]) -> Option<&Token> {
        let mut found = None;
        for token in &self.tokens {
            if bool::from(token.digest.ct_eq(digest)) {
                found = Some(token);
            }
        }
        found
    }
}

/// Refuses an admin address other than loopback when no token is configured: the admin API
/// changes what devices get, so it must not be open to the network.
pub fn check_listen(config: &AuthConfig, admin_listen: std::net::SocketAddr) -> Result<(), String> {
    if config.enabled() || admin_listen.ip().is_loopback() {
        return Ok(());
    }
    Err(format!(
        "the admin listener {admin_listen} is not a loopback address and no admin token is \
         configured: add [[admin_auth.tokens]] (see README, \"Operating versions\") or listen \
         on 127.0.0.1"
    ))
}

/// The lowercase hex SHA-256 digest of `token`, as the config holds it.
pub fn digest_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn allows(token: &Token, owners: &BTreeMap<String, String>, action: Action<'_>) -> bool {
    let has = |scope| token.scopes.contains(&scope);
    if has(Scope::Admin) {
        return true;
    }
    match action {
        Action::Read => has(Scope::Read) || has(Scope::Deploy),
        Action::Change(name) => {
            has(Scope::Deploy) && owners.get(name).is_some_and(|team| *team == token.team)
        }
        Action::ChangeHost => false,
    }
}

/// The token of `Bearer <token>`; the scheme is case-insensitive (RFC 9110, 11.1).
fn bearer_token(value: &HeaderValue) -> Option<&[u8]> {
    let value = value.as_bytes();
    let (scheme, rest) = value.split_at_checked(7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    let token = rest.trim_ascii();
    let valid = !token.is_empty()
        && token.len() <= MAX_TOKEN_BYTES
        && token.iter().all(|byte| byte.is_ascii_graphic());
    valid.then_some(token)
}

fn unauthorized(detail: &str) -> EdgeError {
    EdgeError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
}

/// The `WWW-Authenticate` challenge every 401 of the admin API carries.
pub fn challenge() -> (hyper::header::HeaderName, HeaderValue) {
    (
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"frontdoor-admin\""),
    )
}

fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    // `from_str_radix` alone would take a `+` sign.
    if hex.len() != 64 || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let mut digest = [0u8; 32];
    for (index, pair) in hex.as_bytes().chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        digest[index] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests;
