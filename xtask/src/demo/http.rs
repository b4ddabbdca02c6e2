//! A minimal HTTP/1.1 GET over `std::net::TcpStream`: enough to poll the admin API and check
//! the demo's answers without an HTTP client crate. Only the status and headers are read.

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

use anyhow::Context as _;

/// The head of an answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Names in lowercase.
    headers: Vec<(String, String)>,
}

impl Response {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    }
}

/// `GET target` (path and query) on `addr`, with `connection: close` so the whole answer
/// ends at end of stream. `timeout` bounds the connect and each read and write.
pub fn get(addr: SocketAddr, target: &str, timeout: Duration) -> anyhow::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .context("cannot set socket timeouts")?;
    let request = format!("GET {target} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .with_context(|| format!("cannot send the request to {addr}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .with_context(|| format!("cannot read the answer from {addr}"))?;
    parse_head(&raw)
}

fn parse_head(raw: &[u8]) -> anyhow::Result<Response> {
    let end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .context("the answer has no complete head")?;
    let head = std::str::from_utf8(&raw[..end]).context("the answer's head is not utf-8")?;
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
    Ok(Response { status, headers })
}

#[cfg(test)]
mod tests;
