//! The parameters a matched route captured. A value without `%` escapes is kept as its
//! place in the matched path, so matching copies nothing; only an escaped value is decoded
//! into a string of its own.

use std::sync::Arc;

/// The parameters of one matched route, in the pattern's order. Values are read against
/// the path that was matched ([`Params::get`] takes it again): the host keeps the request's
/// path anyway, so the values need no copy of it.
#[derive(Debug, Clone, Default)]
pub struct Params {
    captures: Vec<Capture>,
}

#[derive(Debug, Clone)]
struct Capture {
    name: Arc<str>,
    value: Value,
}

#[derive(Debug, Clone)]
enum Value {
    /// Bytes `start..end` of the matched path: a segment with nothing to decode.
    InPath { start: usize, end: usize },
    /// The decoded text of a segment with `%` escapes.
    Decoded(Box<str>),
}

impl Params {
    /// Room for `count` parameters: no allocation when a route has none.
    pub(crate) fn with_capacity(count: usize) -> Self {
        Self {
            captures: Vec::with_capacity(count),
        }
    }

    /// Parameters already decoded into strings of their own (the reference matcher's).
    pub fn from_decoded(pairs: Vec<(Arc<str>, String)>) -> Self {
        Self {
            captures: pairs
                .into_iter()
                .map(|(name, value)| Capture {
                    name,
                    value: Value::Decoded(value.into_boxed_str()),
                })
                .collect(),
        }
    }

    /// Captures `segment`, a slice of `path` without escapes, by its place in `path`.
    pub(crate) fn push_in_path(&mut self, name: Arc<str>, path: &str, segment: &str) {
        let start = segment.as_ptr() as usize - path.as_ptr() as usize;
        self.captures.push(Capture {
            name,
            value: Value::InPath {
                start,
                end: start + segment.len(),
            },
        });
    }

    pub(crate) fn push_decoded(&mut self, name: Arc<str>, value: String) {
        self.captures.push(Capture {
            name,
            value: Value::Decoded(value.into_boxed_str()),
        });
    }

    pub fn len(&self) -> usize {
        self.captures.len()
    }

    pub fn is_empty(&self) -> bool {
        self.captures.is_empty()
    }

    /// The value of parameter `name`; `path` is the path that was matched (another path
    /// gives other text, never a panic).
    pub fn get<'a>(&'a self, path: &'a str, name: &str) -> Option<&'a str> {
        self.captures
            .iter()
            .find(|capture| *capture.name == *name)
            .and_then(|capture| capture.value(path))
    }

    /// Every parameter's name and value, in the pattern's order; `path` as for
    /// [`Params::get`].
    pub fn iter<'a>(&'a self, path: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.captures.iter().filter_map(move |capture| {
            capture
                .value(path)
                .map(|value| (capture.name.as_ref(), value))
        })
    }
}

impl Capture {
    fn value<'a>(&'a self, path: &'a str) -> Option<&'a str> {
        match &self.value {
            Value::InPath { start, end } => path.get(*start..*end),
            Value::Decoded(value) => Some(value),
        }
    }
}
