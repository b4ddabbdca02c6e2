//! The query of `GET /admin/requests`: `adapter=NAME`, `status=5xx|4xx|...|CODE`,
//! `limit=N` (1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`]). A bad or unknown parameter is
//! refused with its name.

/// Entries returned when no limit is given.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest `limit` accepted.
pub const MAX_LIMIT: usize = 1000;

/// Which kept requests to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFilter {
    pub adapter: Option<String>,
    pub status: Option<StatusFilter>,
    pub limit: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// `5xx`: 500 to 599.
    Class(u16),
    Exact(u16),
}

impl StatusFilter {
    pub fn matches(&self, status: u16) -> bool {
        match *self {
            StatusFilter::Class(class) => status / 100 == class,
            StatusFilter::Exact(code) => status == code,
        }
    }
}

/// A parameter that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParam {
    pub param: String,
    pub reason: String,
}

impl RequestFilter {
    pub fn parse(query: Option<&str>) -> Result<Self, BadParam> {
        let mut filter = RequestFilter {
            adapter: None,
            status: None,
            limit: DEFAULT_LIMIT,
        };
        for pair in query
            .unwrap_or("")
            .split('&')
            .filter(|pair| !pair.is_empty())
        {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let bad = |reason: String| BadParam {
                param: name.to_owned(),
                reason,
            };
            match name {
                "adapter" => {
                    let valid = !value.is_empty()
                        && value
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                    if !valid {
                        return Err(bad(format!("{value:?} is not an adapter name")));
                    }
                    filter.adapter = Some(value.to_owned());
                }
                "status" => filter.status = Some(parse_status(value).ok_or_else(|| {
                    bad(format!(
                        "{value:?} is neither a status class (1xx to 5xx) nor a status code (100 to 599)"
                    ))
                })?),
                "limit" => {
                    filter.limit = value
                        .parse()
                        .ok()
                        .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                        .ok_or_else(|| bad(format!("{value:?} is not a number from 1 to {MAX_LIMIT}")))?;
                }
                _ => return Err(bad("is not a parameter of /admin/requests (adapter, status, limit)".into())),
            }
        }
        Ok(filter)
    }
}

fn parse_status(value: &str) -> Option<StatusFilter> {
    let bytes = value.as_bytes();
    if bytes.len() != 3 {
        return None;
    }
    if bytes[1..].eq_ignore_ascii_case(b"xx") && (b'1'..=b'5').contains(&bytes[0]) {
        return Some(StatusFilter::Class(u16::from(bytes[0] - b'0')));
    }
    value
        .parse::<u16>()
        .ok()
        .filter(|code| (100..=599).contains(code))
        .map(StatusFilter::Exact)
}

#[cfg(test)]
mod tests;
