//! Route patterns (`/items/{id}`) and how a request path is matched against them: the
//! host's router and the SDK's test kit use this one implementation, so a test routes
//! exactly as the host does. Requests are matched by a version's [`RouteTree`], built once
//! when the version is loaded; [`match_route`], which tries every route in declaration
//! order, is the reference the tree is tested against.

use std::sync::Arc;

mod params;
mod tree;

pub use params::Params;
pub use tree::{RouteTree, trees_built_on_this_thread};

/// A route's path pattern, split into segments: `/items/{id}` → `items`, `{id}`.
#[derive(Debug, Clone)]
pub struct RoutePattern {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone)]
enum Segment {
    Literal(Box<str>),
    Param(Arc<str>),
}

impl RoutePattern {
    /// Parses a pattern with the rules `export_adapter!` checks at compile time
    /// ([`crate::route`]: one source of truth): it starts with `/`, and each segment is a
    /// literal or a whole `{name}`, each name once.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        crate::route::check_pattern(pattern).map_err(|error| error.message().to_owned())?;
        let segments = pattern
            .split('/')
            .skip(1)
            .filter(|raw| !raw.is_empty())
            .map(
                |raw| match raw.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => Segment::Param(Arc::from(name)),
                    None => Segment::Literal(raw.into()),
                },
            )
            .collect();
        Ok(Self { segments })
    }

    /// True when both patterns match exactly the same paths.
    pub fn same_shape(&self, other: &Self) -> bool {
        self.segments.len() == other.segments.len()
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|pair| match pair {
                    (Segment::Literal(a), Segment::Literal(b)) => a == b,
                    (Segment::Param(_), Segment::Param(_)) => true,
                    _ => false,
                })
    }

    /// Matches `path` (starting with `/`), appending captured parameters to `params`.
    pub fn matches(&self, path: &str, params: &mut Vec<(Arc<str>, String)>) -> bool {
        let rest = path.strip_prefix('/').unwrap_or(path);
        let start = params.len();
        let mut parts = rest.split('/').filter(|part| !part.is_empty());
        for segment in &self.segments {
            let Some(part) = parts.next() else {
                params.truncate(start);
                return false;
            };
            match segment {
                Segment::Literal(literal) if **literal == *part => {}
                Segment::Param(name) => match percent_decode(part) {
                    Some(value) => params.push((name.clone(), value)),
                    None => {
                        params.truncate(start);
                        return false;
                    }
                },
                Segment::Literal(_) => {
                    params.truncate(start);
                    return false;
                }
            }
        }
        if parts.next().is_some() {
            params.truncate(start);
            return false;
        }
        true
    }
}

impl std::fmt::Display for RoutePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("/");
        }
        for segment in &self.segments {
            match segment {
                Segment::Literal(literal) => write!(f, "/{literal}")?,
                Segment::Param(name) => write!(f, "/{{{name}}}")?,
            }
        }
        Ok(())
    }
}

/// Decodes `%XX` escapes; `None` for a malformed escape or a result that is not UTF-8.
fn percent_decode(raw: &str) -> Option<String> {
    if !raw.contains('%') {
        return Some(raw.to_owned());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            // Two hex digits, nothing else: `from_str_radix` alone would take "%+a".
            let high = hex_value(*bytes.get(index + 1)?)?;
            let low = hex_value(*bytes.get(index + 2)?)?;
            out.push(high << 4 | low);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// What a path and method resolve to inside one adapter version.
#[derive(Debug)]
pub enum RouteMatch {
    Found {
        route: u32,
        /// Read against the matched path ([`Params::get`]).
        params: Params,
    },
    /// The path exists under other methods.
    MethodNotAllowed,
    NotFound,
}

/// Matches a request against a version's routes by trying each in declaration order: the
/// specification of routing precedence, kept as the reference [`RouteTree::find`] is
/// tested against (the request path uses the tree).
pub fn match_route<M: PartialEq>(
    routes: &[(M, RoutePattern)],
    method: &M,
    path: &str,
) -> RouteMatch {
    let mut params = Vec::new();
    let mut path_exists = false;
    for (index, (route_method, pattern)) in routes.iter().enumerate() {
        if pattern.matches(path, &mut params) {
            if route_method == method {
                return RouteMatch::Found {
                    route: index as u32,
                    params: Params::from_decoded(params),
                };
            }
            params.clear();
            path_exists = true;
        }
    }
    if path_exists {
        RouteMatch::MethodNotAllowed
    } else {
        RouteMatch::NotFound
    }
}

#[cfg(test)]
mod tests;
