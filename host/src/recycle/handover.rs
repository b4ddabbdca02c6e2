//! The channel between a host and the successor it spawned: a Unix socket in the host's
//! state directory that the successor connects to (its path in [`SOCKET_ENV`]). The host
//! sends the listening sockets and the state directory's lock with `SCM_RIGHTS`, then each
//! side writes one JSON line per step: the successor `ready` (or `failed`), the host `go`,
//! the successor `accepting`.

use std::{
    fs::File,
    io::{self, IoSlice, IoSliceMut, Read as _},
    mem::MaybeUninit,
    os::{
        fd::{AsFd, BorrowedFd, OwnedFd},
        unix::net::UnixStream,
    },
    path::PathBuf,
    time::Duration,
};

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};

/// Set by a host for the successor it spawns: the path of the handover socket.
pub const SOCKET_ENV: &str = "FRONTDOOR_RECYCLE_SOCKET";

/// The longest line either side accepts; the steps are a few dozen bytes.
const MAX_LINE: usize = 4096;

/// What a host sends with the descriptors.
#[derive(Debug, Serialize, Deserialize)]
pub struct Hello {
    /// The handing-over host: its load markers are those of a live process.
    pub parent_pid: u32,
}

/// One step of the handover after the descriptors.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// The successor loaded the plugins directory and the saved state and warmed up.
    Ready { pid: u32 },
    /// The successor cannot serve.
    Failed { reason: String },
    /// The host stays out of the successor's way: accept.
    Go,
    /// The successor accepts on the listening sockets and wrote the PID file.
    Accepting,
}

/// The descriptors a successor inherits.
#[derive(Debug)]
pub struct Inherited {
    pub device: std::net::TcpListener,
    pub admin: std::net::TcpListener,
    /// The open file description that holds the lock on the state directory: shared by
    /// both processes, so the directory stays locked across the handover.
    pub state_lock: File,
    pub parent_pid: u32,
}

/// The handover socket's path, if this process was spawned as a successor.
pub fn socket_from_env() -> Option<PathBuf> {
    std::env::var_os(SOCKET_ENV)
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
}

/// Host side: sends `hello` and the three descriptors (device listener, admin listener,
/// state lock) in one message.
pub fn send_descriptors(
    stream: &UnixStream,
    hello: &Hello,
    descriptors: [BorrowedFd<'_>; 3],
) -> io::Result<()> {
    let mut line = serde_json::to_vec(hello).map_err(io::Error::other)?;
    line.push(b'\n');
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(3))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&descriptors)) {
        return Err(io::Error::other(
            "the descriptors do not fit the control message",
        ));
    }
    let sent = rustix::net::sendmsg(
        stream,
        &[IoSlice::new(&line)],
        &mut control,
        SendFlags::empty(),
    )?;
    if sent < line.len() {
        // The descriptors went with the first byte; the rest of the line follows.
        use std::io::Write as _;
        (&*stream).write_all(&line[sent..])?;
    }
    Ok(())
}

/// Successor side: connects to `path` and receives the descriptors and the hello line,
/// waiting at most `patience` for them.
pub fn receive_descriptors(
    path: &std::path::Path,
    patience: Duration,
) -> io::Result<(Inherited, UnixStream)> {
    let stream = UnixStream::connect(path)?;
    stream.set_read_timeout(Some(patience))?;
    let mut bytes = [0u8; MAX_LINE];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(3))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let received = rustix::net::recvmsg(
        &stream,
        &mut [IoSliceMut::new(&mut bytes)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    let mut fds: Vec<OwnedFd> = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(passed) = message {
            fds.extend(passed);
        }
    }
    let mut line = bytes[..received.bytes].to_vec();
    while !line.contains(&b'\n') {
        if line.len() >= MAX_LINE {
            return Err(invalid("the hello line is too long"));
        }
        let mut more = [0u8; 256];
        let read = (&stream).read(&mut more)?;
        if read == 0 {
            return Err(invalid("the host closed the handover before its hello"));
        }
        line.extend_from_slice(&more[..read]);
    }
    let end = line
        .iter()
        .position(|&byte| byte == b'\n')
        .unwrap_or(line.len());
    let hello: Hello = serde_json::from_slice(&line[..end])
        .map_err(|error| invalid(&format!("unreadable hello: {error}")))?;
    let [device, admin, lock]: [OwnedFd; 3] = fds.try_into().map_err(|fds: Vec<OwnedFd>| {
        invalid(&format!("{} descriptors received, not 3", fds.len()))
    })?;
    for (name, fd) in [("device", &device), ("admin", &admin)] {
        if !rustix::net::sockopt::socket_acceptconn(fd.as_fd())? {
            return Err(invalid(&format!(
                "the {name} descriptor is not a listening socket"
            )));
        }
    }
    stream.set_read_timeout(None)?;
    Ok((
        Inherited {
            device: std::net::TcpListener::from(device),
            admin: std::net::TcpListener::from(admin),
            state_lock: File::from(lock),
            parent_pid: hello.parent_pid,
        },
        stream,
    ))
}

/// The steps after the descriptors, as lines over the (now asynchronous) socket.
pub struct Steps {
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::net::unix::OwnedReadHalf>>,
    write: tokio::net::unix::OwnedWriteHalf,
}

impl Steps {
    pub fn new(stream: UnixStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        let (read, write) = tokio::net::UnixStream::from_std(stream)?.into_split();
        Ok(Self {
            lines: tokio::io::BufReader::new(read).lines(),
            write,
        })
    }

    pub async fn send(&mut self, step: &Step) -> io::Result<()> {
        let mut line = serde_json::to_vec(step).map_err(io::Error::other)?;
        line.push(b'\n');
        self.write.write_all(&line).await
    }

    /// The next step; an error when the other side closed the channel or wrote nonsense.
    pub async fn receive(&mut self) -> io::Result<Step> {
        match self.lines.next_line().await? {
            Some(line) if line.len() <= MAX_LINE => serde_json::from_str(&line)
                .map_err(|error| invalid(&format!("unreadable step {line:?}: {error}"))),
            Some(_) => Err(invalid("a step line is too long")),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the other side closed the handover channel",
            )),
        }
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

#[cfg(test)]
mod tests;
