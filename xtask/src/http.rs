//! A minimal HTTP/1.1 client over `std::net::TcpStream`, enough for xtask without an HTTP
//! client crate: one-shot GETs ([`get`]) to poll the admin API and check answers, and a
//! keep-alive [`Connection`] for polling at a high rate. Bodies are read by Content-Length;
//! chunked bodies are refused.

mod connection;

use anyhow::{Context as _, bail, ensure};
use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

pub use connection::Connection;

/// One answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Names in lowercase.
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    }

    /// The declared body length; an error for a chunked body, which this client cannot read.
    fn content_length(&self) -> anyhow::Result<Option<usize>> {
        if self.header("transfer-encoding").is_some() {
            bail!("the answer has a transfer-encoding, which this client does not support");
        }
        self.header("content-length")
            .map(|value| {
                value
                    .parse()
                    .with_context(|| format!("malformed content-length `{value}`"))
            })
            .transpose()
    }
}

/// `GET target` (path and query) on `addr`, with `connection: close` so the whole answer
/// ends at end of stream. `timeout` bounds the connect and each read and write.
pub fn get(addr: SocketAddr, target: &str, timeout: Duration) -> anyhow::Result<Response> {
    request(addr, "GET", target, None, timeout)
}

/// [`get`] with further header fields, e.g. `x-frontdoor-version`.
pub fn get_with_headers(
    addr: SocketAddr,
    target: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> anyhow::Result<Response> {
    request_with(addr, "GET", target, headers, None, timeout)
}

/// `method target` on `addr` with an optional JSON `body`; otherwise as [`get`].
pub fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    json_body: Option<&str>,
    timeout: Duration,
) -> anyhow::Result<Response> {
    let body = json_body.map(|body| ("application/json", body.as_bytes()));
    request_with(addr, method, target, &[], body, timeout)
}

/// `method target` on `addr` with extra header fields and an optional body of a content
/// type; otherwise as [`get`].
pub fn request_with(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
    timeout: Duration,
) -> anyhow::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .context("cannot set socket timeouts")?;
    let mut head = format!("{method} {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some((content_type, body)) = body {
        head.push_str(&format!(
            "content-type: {content_type}\r\ncontent-length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    let mut request = head.into_bytes();
    request.extend_from_slice(body.map(|(_, body)| body).unwrap_or_default());
    stream
        .write_all(&request)
        .with_context(|| format!("cannot send the request to {addr}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .with_context(|| format!("cannot read the answer from {addr}"))?;
    let (mut response, head_len) = parse_head(&raw)?;
    let mut body = raw.split_off(head_len);
    if let Some(length) = response.content_length()? {
        ensure!(
            body.len() >= length,
            "the answer ended after {} of {length} body bytes",
            body.len()
        );
        body.truncate(length);
    }
    response.body = body;
    Ok(response)
}

/// Parses the head at the start of `raw` (which must hold all of it); returns it with an
/// empty body, and the length of the head including its blank line.
fn parse_head(raw: &[u8]) -> anyhow::Result<(Response, usize)> {
    let end = head_end(raw).context("the answer has no complete head")?;
    let head = std::str::from_utf8(&raw[..end - 4]).context("the answer's head is not utf-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("malformed status line `{status_line}`"))?;
    let headers = lines
        .map(|line| {
            line.split_once(':')
                .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
                .with_context(|| format!("malformed header line `{line}`"))
        })
        .collect::<anyhow::Result<_>>()?;
    let response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    Ok((response, end))
}

/// The length of the head, blank line included, once `raw` holds all of it.
fn head_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|position| position + 4)
}

#[cfg(test)]
mod tests;
