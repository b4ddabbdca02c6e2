//! W3C Trace Context `traceparent`: `00-{trace id: 32 hex}-{parent id: 16 hex}-{flags: 2 hex}`.
//!
//! Parsed strictly, because it comes from devices: lowercase hex only, exact field lengths,
//! trace and parent ids not all zero, version `ff` refused. A version above `00` is read
//! as `00` (the spec's forward compatibility) if what follows the flags is a `-` or
//! nothing. Anything refused starts a new trace.

use hyper::header::{HeaderName, HeaderValue};

pub const HEADER: HeaderName = HeaderName::from_static("traceparent");

/// The flag bit saying the caller records this trace.
const SAMPLED: u8 = 0x01;

/// A parsed `traceparent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: u128,
    pub parent_id: u64,
    pub flags: u8,
}

impl TraceParent {
    pub fn parse(value: &[u8]) -> Option<Self> {
        // version "-" trace "-" parent "-" flags
        if value.len() < 55 {
            return None;
        }
        let (head, tail) = value.split_at(55);
        let version = hex(&head[0..2])? as u8;
        if version == 0xff || (version == 0 && !tail.is_empty()) {
            return None;
        }
        if !tail.is_empty() && tail[0] != b'-' {
            return None;
        }
        if head[2] != b'-' || head[35] != b'-' || head[52] != b'-' {
            return None;
        }
        let trace_id = hex(&head[3..35])?;
        let parent_id = hex(&head[36..52])? as u64;
        let flags = hex(&head[53..55])? as u8;
        if trace_id == 0 || parent_id == 0 {
            return None;
        }
        Some(Self {
            trace_id,
            parent_id,
            flags,
        })
    }

    pub fn sampled(&self) -> bool {
        self.flags & SAMPLED != 0
    }
}

/// The `traceparent` a callee gets: this trace, `span_id` as its parent.
pub fn format(trace_id: u128, span_id: u64, sampled: bool) -> HeaderValue {
    let flags = if sampled { SAMPLED } else { 0 };
    let text = format!("00-{trace_id:032x}-{span_id:016x}-{flags:02x}");
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("invalid"))
}

/// Lowercase hex digits (at most 32) as a number; `None` for anything else.
fn hex(digits: &[u8]) -> Option<u128> {
    digits.iter().try_fold(0u128, |acc, &digit| {
        let value = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => return None,
        };
        Some(acc << 4 | u128::from(value))
    })
}

#[cfg(test)]
mod tests;
