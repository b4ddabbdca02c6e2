//! The control routes of the admin API: a method and path become a [`Route`], with names
//! and versions checked before anything looks them up, and bodies read within a bound.
//!
//! - `GET /admin/audit[?limit=N]`
//! - `GET /admin/adapters`, `GET /admin/adapters/{name}`
//! - `POST|DELETE /admin/adapters/{name}/pin`, `POST /admin/adapters/{name}/rollback`
//! - `POST /admin/adapters/{name}/versions/{version}/disable|enable|lift-quarantine`
//! - `GET /admin/modules/{name}`, `POST|DELETE /admin/modules/{name}/pin`
//! - `/admin/adapters/{name}/canary[/...]` and `/admin/adapters/{name}/shadow`: authorized
//!   here (`GET` reads, anything else changes `name`), answered by `traffic/admin.rs`

use http_body_util::{BodyExt as _, Limited};
use hyper::{Method, StatusCode};
use semver::Version;
use serde::Deserialize;

use super::{Action, operations::Operation};
use crate::error_response::{EdgeError, RequestBody};

/// Largest body of a control request: `{"version": "..."}` needs far less.
pub const MAX_BODY_BYTES: usize = 4096;

/// A parsed control request.
#[derive(Debug, PartialEq)]
pub enum Route {
    Audit {
        limit: usize,
    },
    Adapters,
    Adapter(String),
    Module(String),
    Change {
        name: String,
        operation: Pending,
    },
    /// A canary or shadow request for `traffic/admin.rs`; `change` when it is not a `GET`.
    Traffic {
        name: String,
        change: bool,
    },
}

/// An operation, some of which still need the version from the body.
#[derive(Debug, PartialEq)]
pub enum Pending {
    Ready(Operation),
    /// `POST .../pin {"version": "1.2.0"}`: an adapter's (`module` false) or a module's.
    Pin {
        module: bool,
    },
}

impl Route {
    /// What the caller must be allowed to do.
    pub fn action(&self) -> Action<'_> {
        match self {
            Self::Change { name, .. }
            | Self::Traffic {
                name, change: true, ..
            } => Action::Change(name),
            _ => Action::Read,
        }
    }
}

impl Pending {
    /// The operation, with the body read (at most [`MAX_BODY_BYTES`]) if it needs one.
    pub async fn complete(self, body: impl RequestBody) -> Result<Operation, EdgeError> {
        match self {
            Self::Ready(operation) => Ok(operation),
            Self::Pin { module } => {
                let version = read_version(body).await?;
                Ok(if module {
                    Operation::ModulePin(version)
                } else {
                    Operation::Pin(version)
                })
            }
        }
    }
}

/// The route of `method path`: `None` when it is not a control path, an error when it is
/// one but malformed (400), unknown (404) or used with the wrong method (405).
pub fn parse(method: &Method, path: &str, query: Option<&str>) -> Option<Result<Route, EdgeError>> {
    if path == "/admin/audit" {
        return Some(
            only(method, &Method::GET)
                .and_then(|()| audit_limit(query))
                .map(|limit| Route::Audit { limit }),
        );
    }
    let (kind, rest) = if let Some(rest) = path.strip_prefix("/admin/adapters") {
        ("adapter", rest)
    } else if let Some(rest) = path.strip_prefix("/admin/modules") {
        ("module", rest)
    } else {
        return None;
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    Some(parse_under(method, kind, rest))
}

/// The limit of `GET /admin/audit?limit=N`.
fn audit_limit(query: Option<&str>) -> Result<usize, EdgeError> {
    let Some(value) = query
        .into_iter()
        .flat_map(|query| query.split('&'))
        .find_map(|pair| pair.strip_prefix("limit="))
    else {
        return Ok(super::audit::KEPT);
    };
    value
        .parse::<usize>()
        .map_err(|_| EdgeError::bad_request(format!("limit {value:?} is not a number")))
}

fn parse_under(method: &Method, kind: &'static str, rest: &str) -> Result<Route, EdgeError> {
    let segments: Vec<&str> = rest.split('/').skip(1).collect();
    let module = kind == "module";
    match segments.as_slice() {
        [] | [""] if !module => only(method, &Method::GET).map(|()| Route::Adapters),
        [name] => {
            let name = valid_name(kind, name)?;
            only(method, &Method::GET)?;
            Ok(if module {
                Route::Module(name)
            } else {
                Route::Adapter(name)
            })
        }
        [name, "pin"] => {
            let name = valid_name(kind, name)?;
            let operation = match *method {
                Method::POST => Pending::Pin { module },
                Method::DELETE if module => Pending::Ready(Operation::ModuleUnpin),
                Method::DELETE => Pending::Ready(Operation::Unpin),
                _ => return Err(method_not_allowed("use POST or DELETE")),
            };
            Ok(Route::Change { name, operation })
        }
        [name, "canary" | "shadow", ..] if !module => Ok(Route::Traffic {
            name: valid_name(kind, name)?,
            change: *method != Method::GET,
        }),
        [name, "rollback"] if !module => {
            let name = valid_name(kind, name)?;
            only(method, &Method::POST)?;
            Ok(Route::Change {
                name,
                operation: Pending::Ready(Operation::Rollback),
            })
        }
        [name, "versions", version, verb] if !module => {
            let name = valid_name(kind, name)?;
            let version = valid_version(version)?;
            let operation = match *verb {
                "disable" => Operation::Disable(version),
                "enable" => Operation::Enable(version),
                "lift-quarantine" => Operation::LiftQuarantine(version),
                _ => return Err(unknown(kind, rest)),
            };
            only(method, &Method::POST)?;
            Ok(Route::Change {
                name,
                operation: Pending::Ready(operation),
            })
        }
        _ => Err(unknown(kind, rest)),
    }
}

fn only(method: &Method, allowed: &Method) -> Result<(), EdgeError> {
    if method == allowed {
        Ok(())
    } else {
        Err(method_not_allowed(&format!("use {allowed}")))
    }
}

fn method_not_allowed(detail: &str) -> EdgeError {
    EdgeError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed", detail)
}

fn unknown(kind: &str, rest: &str) -> EdgeError {
    EdgeError::not_found(format!("no {kind} control endpoint {rest}"))
}

/// Plugin names as manifests allow them (lower-case letters, digits, `-`, `_`): anything
/// else, such as `..` or an escaped slash, names nothing and is refused as such.
fn valid_name(kind: &str, raw: &str) -> Result<String, EdgeError> {
    let valid = !raw.is_empty()
        && raw.len() <= 64
        && raw.as_bytes()[0].is_ascii_alphanumeric()
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(raw.to_owned())
    } else {
        let shown: String = raw.chars().take(64).collect();
        Err(EdgeError::bad_request(format!(
            "{shown:?} is not a valid {kind} name (1-64 characters of a-z, 0-9, '-' and '_')"
        )))
    }
}

fn valid_version(raw: &str) -> Result<Version, EdgeError> {
    Version::parse(raw).map_err(|error| {
        let shown: String = raw.chars().take(64).collect();
        EdgeError::bad_request(format!("{shown:?} is not a semver version: {error}"))
    })
}

/// The body of a pin: `{"version": "1.2.0"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PinBody {
    version: String,
}

async fn read_version(body: impl RequestBody) -> Result<Version, EdgeError> {
    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return Err(EdgeError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload too large",
                format!("the body must be at most {MAX_BODY_BYTES} bytes"),
            ));
        }
        Err(_) => return Err(EdgeError::bad_request("the body could not be read")),
    };
    let body: PinBody = serde_json::from_slice(&bytes).map_err(|error| {
        EdgeError::bad_request(format!(
            "the body must be JSON {{\"version\": \"x.y.z\"}}: {error}"
        ))
    })?;
    valid_version(&body.version)
}

#[cfg(test)]
mod tests;
