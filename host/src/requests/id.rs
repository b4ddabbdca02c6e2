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
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

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
        let mut random = [0; 16];
        random[..8].copy_from_slice(&random::next_u64().to_be_bytes());
        random[8..].copy_from_slice(&random::next_u64().to_be_bytes());
        // Two digits per byte, most significant first, over fixed-size arrays (no bounds
        // checks, no iterator adapters).
        for (pair, byte) in id.bytes[..32].chunks_exact_mut(2).zip(random) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0xf)];
        }
        id
    }

    /// The id a device sent, if acceptable.
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
        let mut values = headers.get_all(&HEADER).iter();
        let Some(first) = values.next() else {
            return (Self::generate(), Origin::Generated);
        };
        let parsed = if values.next().is_some() {
            Err(Refusal::Repeated)
        } else {
            Self::parse(first.as_bytes())
        };
        match parsed {
            Ok(id) => (id, Origin::Device),
            Err(refusal) => (Self::generate(), Origin::Replaced(refusal)),
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
        HeaderValue::from_maybe_shared(Bytes::from_owner(*self))
            .unwrap_or(HeaderValue::from_static("invalid"))
    }
}

impl AsRef<[u8]> for RequestId {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

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
