//! A keep-alive HTTP/1.1 connection for sending many GETs in a row cheaply, as the reload
//! benchmark does while it waits for a new version to answer.

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

use anyhow::{Context as _, bail, ensure};

use super::{Response, head_end, parse_head};

/// One TCP connection, reopened when the server has closed it.
#[derive(Debug)]
pub struct Connection {
    addr: SocketAddr,
    timeout: Duration,
    stream: Option<TcpStream>,
    /// Bytes read and not yet consumed; kept to reuse its allocation.
    buffer: Vec<u8>,
}

impl Connection {
    /// Connects to `addr`; `timeout` bounds the connect and each read and write.
    pub fn open(addr: SocketAddr, timeout: Duration) -> anyhow::Result<Self> {
        let mut connection = Self {
            addr,
            timeout,
            stream: None,
            buffer: Vec::with_capacity(4096),
        };
        connection.connect()?;
        Ok(connection)
    }

    /// `GET target` (path and query). A request on a reused connection that fails is sent
    /// once more on a new one: the server may have closed an idle connection, and a GET
    /// can be repeated.
    pub fn get(&mut self, target: &str) -> anyhow::Result<Response> {
        let reused = self.stream.is_some();
        match self.exchange(target) {
            Ok(response) => Ok(response),
            Err(_) if reused => {
                self.stream = None;
                self.exchange(target)
            }
            Err(error) => Err(error),
        }
    }

    fn connect(&mut self) -> anyhow::Result<()> {
        let stream = TcpStream::connect_timeout(&self.addr, self.timeout)
            .with_context(|| format!("cannot connect to {}", self.addr))?;
        stream
            .set_read_timeout(Some(self.timeout))
            .and_then(|()| stream.set_write_timeout(Some(self.timeout)))
            .and_then(|()| stream.set_nodelay(true))
            .context("cannot set socket options")?;
        self.stream = Some(stream);
        Ok(())
    }

    fn exchange(&mut self, target: &str) -> anyhow::Result<Response> {
        let addr = self.addr;
        if self.stream.is_none() {
            self.connect()?;
        }
        let stream = self.stream.as_mut().context("no connection")?;
        let request = format!("GET {target} HTTP/1.1\r\nhost: {addr}\r\n\r\n");
        let result = send_and_read(stream, &mut self.buffer, request.as_bytes())
            .with_context(|| format!("GET {target} on {addr} failed"));
        match result {
            Ok(response) => {
                if response.header("connection") == Some("close") {
                    self.stream = None;
                }
                Ok(response)
            }
            Err(error) => {
                self.stream = None;
                Err(error)
            }
        }
    }
}

/// Writes `request`, then reads one answer whose body has a Content-Length.
fn send_and_read(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    request: &[u8],
) -> anyhow::Result<Response> {
    stream
        .write_all(request)
        .context("cannot send the request")?;
    buffer.clear();
    let head_len = loop {
        if let Some(end) = head_end(buffer) {
            break end;
        }
        read_more(stream, buffer)?;
    };
    let (mut response, _) = parse_head(&buffer[..head_len])?;
    let body_len = response.content_length()?.unwrap_or(0);
    while buffer.len() < head_len + body_len {
        read_more(stream, buffer)?;
    }
    ensure!(
        buffer.len() == head_len + body_len,
        "the server sent {} bytes beyond the answer",
        buffer.len() - head_len - body_len
    );
    response.body = buffer[head_len..].to_vec();
    Ok(response)
}

fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> anyhow::Result<()> {
    let mut chunk = [0; 8192];
    let read = stream.read(&mut chunk).context("cannot read the answer")?;
    if read == 0 {
        bail!(
            "the server closed the connection after {} bytes of the answer",
            buffer.len()
        );
    }
    buffer.extend_from_slice(&chunk[..read]);
    Ok(())
}
