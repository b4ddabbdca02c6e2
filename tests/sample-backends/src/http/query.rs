//! Query-string parameters, percent-decoded.

use std::borrow::Cow;

/// The first value of `name` in `query` (without `?`), percent-decoded, `+` read as a space.
pub(crate) fn param<'a>(query: &'a str, name: &str) -> Option<Cow<'a, str>> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| decode(value))
}

/// Decodes `%XX` and `+`; a `%` not followed by two hex digits is kept as it is.
fn decode(raw: &str) -> Cow<'_, str> {
    if !raw.contains(['%', '+']) {
        return Cow::Borrowed(raw);
    }
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => decoded.push(b' '),
            b'%' => match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                (Some(high), Some(low)) => {
                    decoded.push((high << 4) | low);
                    i += 2;
                }
                _ => decoded.push(b'%'),
            },
            byte => decoded.push(byte),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&decoded).into_owned())
}

fn hex(digit: Option<&u8>) -> Option<u8> {
    char::from(*digit?)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}
