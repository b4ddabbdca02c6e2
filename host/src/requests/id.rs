//! Request ids: the device's `x-request-id` when it is acceptable, else one the host makes.
//!
//! An acceptable id is one `x-request-id` field of 1 to [`MAX_LEN`] bytes of visible ASCII
//! (`!` to `~`: no spaces, no control characters). Anything else (empty, too long, a control
//! character, several fields) is refused: the request gets a generated id instead, the
//! refusal is logged with that id, and the plugin, the backends and the response all see the
//! generated one, so one request never goes by two names.

use std::fmt;

use bytes::Bytes;
use hyper::{
    HeaderMap,
    header::{HeaderName, HeaderValue},
};

use super::random;

/// The header that carries the request id, in and out.
pub const HEADER: HeaderName = HeaderName::from_static(HEADER_NAME);

/// [`HEADER`]'s name as a `&'static str` (a `HeaderName` constant lends its text only for as
/// long as the temporary it makes).
pub const HEADER_NAME: &str = "x-request-id";

/// The longest id accepted from a device, in bytes.
pub const MAX_LEN: usize = 128;

/// A request id, stored inline so it can be copied (into a thread-local around each poll,
/// into log lines) without an allocation or a shared reference count.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RequestId {
    len: u8,
    bytes: [u8; MAX_LEN],
}

/// Why a device's id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Empty,
    TooLong(usize),
    NotVisibleAscii,
    Repeated,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Empty => f.write_str("empty"),
            Refusal::TooLong(len) => write!(f, "{len} bytes, more than {MAX_LEN}"),
            Refusal::NotVisibleAscii => f.write_str("not visible ASCII"),
            Refusal::Repeated => f.write_str("sent more than once"),
        }
    }
}

/// Where a request's id came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The device's own, echoed.
    Device,
    /// The device sent none.
    Generated,
    /// The device's was refused; this one replaces it everywhere.
    Replaced(Refusal),
}

impl RequestId {
    /// A fresh id: 128 random bits as 32 lowercase hex digits.
    pub fn generate() -> Self {
        let mut id = Self {
            len: 32,
            bytes: [0; MAX_LEN],
        };
        id.bytes[..16].copy_from_slice(&hex_digits(random::next_u64()));
        id.bytes[16..32].copy_from_slice(&hex_digits(random::next_u64()));
        id
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, Refusal> {
        if bytes.is_empty() {
            return Err(Refusal::Empty);
        }
        if bytes.len() > MAX_LEN {
            return Err(Refusal::TooLong(bytes.len()));
        }
        if !bytes.iter().all(|byte| (b'!'..=b'~').contains(byte)) {
            return Err(Refusal::NotVisibleAscii);
        }
        let mut id = Self {
            // At most MAX_LEN (128): fits.
            len: bytes.len() as u8,
            bytes: [0; MAX_LEN],
        };
        id.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(id)
    }

    /// The request's id from its headers: the device's if acceptable, else a new one.
    pub fn from_headers(headers: &HeaderMap) -> (Self, Origin) {
        let (id, origin, _) = Self::from_headers_with_value(headers);
        (id, origin)
    }

    /// As [`Self::from_headers`], with the device's header value when it was accepted, so
    /// a caller keeping it as it came does not look it up a second time.
    pub fn from_headers_with_value(headers: &HeaderMap) -> (Self, Origin, Option<&HeaderValue>) {
        let mut values = crate::header_scan::get_all(headers, &HEADER)
            .into_iter()
            .flatten();
        let Some(first) = values.next() else {
            return (Self::generate(), Origin::Generated, None);
        };
        let parsed = if values.next().is_some() {
            Err(Refusal::Repeated)
        } else {
            Self::parse(first.as_bytes())
        };
        match parsed {
            Ok(id) => (id, Origin::Device, Some(first)),
            Err(refusal) => (Self::generate(), Origin::Replaced(refusal), None),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only visible ASCII (checked in `parse`) or hex digits (`generate`) are stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }

    /// The id as a header value. Its bytes live in one shared allocation, so the clones a
    /// request makes (its own header, the response's) count references instead of copying
    /// or allocating again.
    pub fn header_value(&self) -> HeaderValue {
        let bytes = Bytes::from_owner(*self);
        // SAFETY: `from_maybe_shared_unchecked` requires bytes valid in a header value
        // (visible ASCII, space and tab). An id holds only what `parse` admitted (`!`..=`~`,
        // checked byte by byte) or `generate` wrote (hex digits): no other constructor
        // exists and the fields are private to this module. Skipping hyper's own check of
        // every byte saves about a hundred instructions per request.
        unsafe { HeaderValue::from_maybe_shared_unchecked(bytes) }
    }
}

impl AsRef<[u8]> for RequestId {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// `value` as 16 lowercase hex digits, most significant first. Eight digits at a time in
/// one register (SWAR), not one table lookup per digit: a generated id costs a few dozen
/// instructions instead of about two hundred.
fn hex_digits(value: u64) -> [u8; 16] {
    let mut digits = [0; 16];
    digits[..8].copy_from_slice(&hex_digits_u32((value >> 32) as u32));
    digits[8..].copy_from_slice(&hex_digits_u32(value as u32));
    digits
}

fn hex_digits_u32(value: u32) -> [u8; 8] {
    const LOW_NIBBLES: u64 = 0x0f0f_0f0f_0f0f_0f0f;
    const EACH_BYTE: u64 = 0x0101_0101_0101_0101;
    // Spread the eight nibbles one per byte, the least significant nibble in the lowest
    // byte.
    let mut spread = u64::from(value);
    spread = (spread | (spread << 16)) & 0x0000_ffff_0000_ffff;
    spread = (spread | (spread << 8)) & 0x00ff_00ff_00ff_00ff;
    spread = (spread | (spread << 4)) & LOW_NIBBLES;
    // Each byte is 0..=15, so no sum below carries into the next byte: `+ 6` reaches 16
    // (bit 4) exactly for the letters a-f, which sit 39 past `'0' + 10`.
    let letters = ((spread + 6 * EACH_BYTE) >> 4) & EACH_BYTE;
    (spread + u64::from(b'0') * EACH_BYTE + letters * 39).to_be_bytes()
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({:?})", self.as_str())
    }
}

#[cfg(test)]
mod tests;
