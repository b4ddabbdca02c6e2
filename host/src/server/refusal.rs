//! hyper's own answers as JSON. hyper refuses some HTTP/1.1 requests before the router sees
//! them (a head larger than its read buffer, more than 100 header fields, bad syntax, a
//! target over 65534 bytes, conflicting lengths) and answers with a bare status line. The
//! connection's socket (`tracked_io.rs`) hands such an answer here instead of to the wire,
//! and this writes the same status with a JSON error body and `connection: close`.
//!
//! The socket knows a write is hyper's own answer, never part of the service's, from the
//! connection's activity (`activity.rs`: HTTP/1, no request in progress, flushed since the
//! last one). Whatever cannot be read as a status line is passed on unchanged.

use hyper::StatusCode;

/// The rewrite of one refusal: capture hyper's head, then write the replacement.
#[derive(Debug)]
pub struct Refusal {
    /// The HTTP/1.1 read buffer, named in the 431 detail.
    head_buffer_bytes: usize,
    state: State,
}

#[derive(Debug)]
enum State {
    /// Nothing of hyper's seen yet.
    Waiting,
    /// hyper's bytes until its status line can be read.
    Capturing(Vec<u8>),
    /// What goes to the wire instead, and how much of it went.
    Writing {
        bytes: Vec<u8>,
        written: usize,
        /// Passing hyper's answer on unchanged: its later bytes follow. Replacing it: they
        /// are dropped (hyper writes only its head, then closes).
        append: bool,
    },
}

/// `HTTP/1.1 NNN`: enough to read the status.
const STATUS_LINE_PREFIX: usize = 12;

impl Refusal {
    pub fn new(head_buffer_bytes: usize) -> Self {
        Self {
            head_buffer_bytes,
            state: State::Waiting,
        }
    }

    /// True once hyper began answering on its own.
    pub fn started(&self) -> bool {
        !matches!(self.state, State::Waiting)
    }

    /// Takes bytes hyper wrote while only hyper could be answering.
    pub fn take(&mut self, bytes: &[u8]) {
        match &mut self.state {
            State::Waiting => {
                self.state = State::Capturing(bytes.to_vec());
                self.decide(false);
            }
            State::Capturing(captured) => {
                captured.extend_from_slice(bytes);
                self.decide(false);
            }
            State::Writing {
                bytes: out,
                append: true,
                ..
            } => out.extend_from_slice(bytes),
            State::Writing { append: false, .. } => {}
        }
    }

    /// hyper flushes or shuts down: decide with what was captured, however short.
    pub fn finish_capture(&mut self) {
        self.decide(true);
    }

    /// The bytes still to write.
    pub fn pending(&self) -> &[u8] {
        match &self.state {
            State::Writing { bytes, written, .. } => &bytes[*written..],
            _ => &[],
        }
    }

    pub fn advance(&mut self, count: usize) {
        if let State::Writing { written, .. } = &mut self.state {
            *written += count;
        }
    }

    fn decide(&mut self, force: bool) {
        let State::Capturing(captured) = &mut self.state else {
            return;
        };
        if captured.len() < STATUS_LINE_PREFIX && !force {
            return;
        }
        let captured = std::mem::take(captured);
        self.state = match status_of(&captured) {
            Some(status) => State::Writing {
                bytes: replacement(status, self.head_buffer_bytes),
                written: 0,
                append: false,
            },
            None => State::Writing {
                bytes: captured,
                written: 0,
                append: true,
            },
        };
    }
}

/// The status of `HTTP/1.x NNN ...`, if that is what `head` starts with.
fn status_of(head: &[u8]) -> Option<StatusCode> {
    let rest = head
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| head.strip_prefix(b"HTTP/1.0 "))?;
    let code = rest.get(..3)?;
    if !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    StatusCode::from_bytes(code).ok()
}

/// The same status with the host's JSON error body.
fn replacement(status: StatusCode, head_buffer_bytes: usize) -> Vec<u8> {
    let (error, detail) = match status {
        StatusCode::BAD_REQUEST => (
            "bad request",
            "the request is not valid HTTP/1.1: a malformed request line or header field, \
             or conflicting framing headers"
                .to_owned(),
        ),
        StatusCode::URI_TOO_LONG => (
            "uri too long",
            "the request target is longer than 65534 bytes".to_owned(),
        ),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
            "request header fields too large",
            format!(
                "the request head is larger than {head_buffer_bytes} bytes or has more than \
                 100 header fields"
            ),
        ),
        _ => (
            "bad request",
            "the request could not be read as HTTP/1.1".to_owned(),
        ),
    };
    let body = serde_json::json!({ "error": error, "detail": detail }).to_string();
    let mut bytes = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

#[cfg(test)]
mod tests;
