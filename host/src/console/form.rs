//! The console's form bodies: `application/x-www-form-urlencoded`, read within a bound.

use http_body_util::{BodyExt as _, Limited};

use crate::error_response::RequestBody;

/// Largest form body: a token or a version and a number, with the CSRF token.
pub const MAX_FORM_BYTES: usize = 4096;

/// A decoded form: its fields in order (a repeated name keeps its first value).
#[derive(Debug, Default, PartialEq)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Reads and decodes `body`; `None` when it is larger than [`MAX_FORM_BYTES`] or
    /// unreadable.
    pub async fn read(body: impl RequestBody) -> Option<Self> {
        let bytes = Limited::new(body, MAX_FORM_BYTES)
            .collect()
            .await
            .ok()?
            .to_bytes();
        Some(Self::parse(&bytes))
    }

    /// Decodes `name=value&...` (`+` is a space, `%XX` a byte, bad escapes kept as text).
    pub fn parse(bytes: &[u8]) -> Self {
        Self(
            bytes
                .split(|&byte| byte == b'&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let mut halves = pair.splitn(2, |&byte| byte == b'=');
                    let name = decode(halves.next().unwrap_or_default());
                    let value = decode(halves.next().unwrap_or_default());
                    (name, value)
                })
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }
}

fn decode(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut index = 0;
    while index < raw.len() {
        match raw[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < raw.len() => match (hex(raw[index + 1]), hex(raw[index + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high << 4 | low);
                    index += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(byte: u8) -> Option<u8> {
    char::from(byte).to_digit(16).map(|digit| digit as u8)
}

#[cfg(test)]
mod tests;
