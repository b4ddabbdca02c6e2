//! Comparing a shadow's answer with the device's: status, then the body, structurally when
//! both are JSON (with ignored fields), byte for byte otherwise.

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

/// One side's answer.
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

/// Fields left out of the comparison: JSON pointers (`/meta/generated_at`), each covering
/// its whole subtree. A bare name (`generated_at`) is the top-level key of that name.
#[derive(Debug, Clone, Default)]
pub struct Ignored {
    pointers: Vec<String>,
}

/// One place where the answers differ, values cut to a bounded size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// A JSON pointer, `status` for the status, or `body` for a non-JSON body.
    pub at: String,
    pub primary: String,
    pub shadow: String,
}

/// The outcome of one comparison.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Every difference found (also those not kept).
    pub count: usize,
    /// The first few, each cut to the value limit.
    pub kept: Vec<Difference>,
}

/// How much of the differences to keep.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub differences: usize,
    pub value_bytes: usize,
}

impl Ignored {
    pub fn new(fields: &[String]) -> Self {
        let pointers = fields
            .iter()
            .map(|field| {
                if field.starts_with('/') {
                    field.clone()
                } else {
                    format!("/{}", escape(field))
                }
            })
            .collect();
        Self { pointers }
    }

    fn covers(&self, pointer: &str) -> bool {
        self.pointers.iter().any(|ignored| {
            pointer == ignored
                || pointer
                    .strip_prefix(ignored.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }
}

impl Comparison {
    pub fn matched(&self) -> bool {
        self.count == 0
    }

    fn note(&mut self, bounds: Bounds, at: String, primary: String, shadow: String) {
        self.count += 1;
        if self.kept.len() < bounds.differences {
            self.kept.push(Difference {
                at,
                primary: cut(primary, bounds.value_bytes),
                shadow: cut(shadow, bounds.value_bytes),
            });
        }
    }
}

/// Compares the shadow's answer with the primary's.
pub fn compare(primary: &Answer, shadow: &Answer, ignored: &Ignored, bounds: Bounds) -> Comparison {
    let mut comparison = Comparison::default();
    if primary.status != shadow.status {
        comparison.note(
            bounds,
            "status".into(),
            primary.status.to_string(),
            shadow.status.to_string(),
        );
    }
    // Byte-identical bodies are equal structurally too (ignored fields only ever make more
    // things equal): the usual case of a healthy shadow, answered without parsing either.
    if primary.body == shadow.body {
        return comparison;
    }
    match (
        serde_json::from_slice::<Value>(&primary.body),
        serde_json::from_slice::<Value>(&shadow.body),
    ) {
        (Ok(a), Ok(b)) => diff(&a, &b, &mut String::new(), ignored, bounds, &mut comparison),
        _ => comparison.note(
            bounds,
            "body".into(),
            String::from_utf8_lossy(&primary.body).into_owned(),
            String::from_utf8_lossy(&shadow.body).into_owned(),
        ),
    }
    comparison
}

/// Walks both values in step; `pointer` is where they are.
fn diff(
    a: &Value,
    b: &Value,
    pointer: &mut String,
    ignored: &Ignored,
    bounds: Bounds,
    out: &mut Comparison,
) {
    if ignored.covers(pointer) {
        return;
    }
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort_unstable();
            keys.dedup();
            for key in keys {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&escape(key));
                match (a.get(key), b.get(key)) {
                    (Some(a), Some(b)) => diff(a, b, pointer, ignored, bounds, out),
                    (a, b) if !ignored.covers(pointer) => {
                        out.note(bounds, pointer.clone(), shown(a), shown(b));
                    }
                    _ => {}
                }
                pointer.truncate(len);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for index in 0..a.len().max(b.len()) {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&index.to_string());
                match (a.get(index), b.get(index)) {
                    (Some(a), Some(b)) => diff(a, b, pointer, ignored, bounds, out),
                    (a, b) if !ignored.covers(pointer) => {
                        out.note(bounds, pointer.clone(), shown(a), shown(b));
                    }
                    _ => {}
                }
                pointer.truncate(len);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.note(
            bounds,
            if pointer.is_empty() {
                "/".into()
            } else {
                pointer.clone()
            },
            a.to_string(),
            b.to_string(),
        ),
    }
}

fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "(absent)".to_owned(), Value::to_string)
}

/// RFC 6901: `~` → `~0`, `/` → `~1`.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Cuts `text` to at most `limit` bytes on a character boundary, marking the cut.
fn cut(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests;
