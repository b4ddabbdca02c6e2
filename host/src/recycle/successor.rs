//! The host's side of a recycle: spawn the successor, hand it the descriptors, wait for it
//! to be ready, tell it to accept, and wait until it does. Any failure kills the successor
//! (the host still holds the listening sockets and keeps serving).

use std::{
    ffi::OsString,
    os::fd::BorrowedFd,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::{net::UnixListener, process::Child, time::Instant};

use super::{
    RecycleError,
    handover::{Hello, SOCKET_ENV, Step, Steps, send_descriptors},
};

/// What to run and how long to wait for it.
pub struct Launch<'a> {
    pub binary: &'a Path,
    pub args: &'a [OsString],
    /// Where the handover socket is bound (in the locked state directory).
    pub socket_path: &'a Path,
    pub ready_timeout: Duration,
    /// Device listener, admin listener, state lock.
    pub descriptors: [BorrowedFd<'a>; 3],
}

/// Runs a successor up to the point where it accepts; returns its pid.
pub async fn hand_over(launch: Launch<'_>) -> Result<u32, RecycleError> {
    // A socket left by a host that died mid-recycle (the state directory is locked by this
    // host, so no live one owns it).
    let _ = std::fs::remove_file(launch.socket_path);
    let listener = UnixListener::bind(launch.socket_path).map_err(|source| {
        RecycleError::Channel(format!(
            "cannot bind {}: {source}",
            launch.socket_path.display()
        ))
    })?;
    let socket = SocketFile(launch.socket_path.to_owned());
    let mut child = tokio::process::Command::new(launch.binary)
        .args(launch.args)
        .env(SOCKET_ENV, launch.socket_path)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|source| RecycleError::Spawn {
            binary: launch.binary.to_owned(),
            source,
        })?;
    let Some(pid) = child.id() else {
        return Err(RecycleError::Exited {
            status: "before its pid was read".into(),
        });
    };
    tracing::info!(pid, binary = %launch.binary.display(), "recycle: successor started; waiting until it is ready");
    let deadline = Instant::now() + launch.ready_timeout;
    let ready = tokio::time::timeout_at(
        deadline,
        until_ready(&listener, &socket, &mut child, pid, launch.descriptors),
    )
    .await;
    let mut steps = match ready {
        Ok(Ok(steps)) => steps,
        Ok(Err(error)) => return Err(kill(child, error).await),
        Err(_) => {
            let error = RecycleError::NotReady {
                after: launch.ready_timeout,
            };
            return Err(kill(child, error).await);
        }
    };
    // From here on the successor may accept: both processes serve the same sockets until
    // this one stops accepting, after the successor says it does.
    let accepting = tokio::time::timeout(launch.ready_timeout, async {
        steps.send(&Step::Go).await.map_err(channel)?;
        expect(&mut steps, &mut child, |step| *step == Step::Accepting).await
    })
    .await;
    match accepting {
        Ok(Ok(())) => Ok(pid),
        Ok(Err(error)) => Err(kill(child, error).await),
        Err(_) => {
            let error = RecycleError::NotReady {
                after: launch.ready_timeout,
            };
            Err(kill(child, error).await)
        }
    }
}

/// Accepts the successor's connection (only from its pid), sends the descriptors and waits
/// for `ready`.
async fn until_ready(
    listener: &UnixListener,
    socket: &SocketFile,
    child: &mut Child,
    pid: u32,
    descriptors: [BorrowedFd<'_>; 3],
) -> Result<Steps, RecycleError> {
    let stream = loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted.map_err(channel)?,
            status = child.wait() => return Err(exited(status)),
        };
        let peer = rustix::net::sockopt::socket_peercred(&stream)
            .map_err(|error| channel(error.into()))?;
        if peer.pid.as_raw_nonzero().get().cast_unsigned() == pid {
            break stream;
        }
        tracing::warn!(
            peer_pid = peer.pid.as_raw_nonzero().get(),
            "recycle: a process other than the successor connected to the handover socket; refused"
        );
    };
    // Connected: nobody else needs the path.
    socket.remove();
    let stream = stream.into_std().map_err(channel)?;
    stream.set_nonblocking(false).map_err(channel)?;
    let hello = Hello {
        parent_pid: std::process::id(),
    };
    send_descriptors(&stream, &hello, descriptors).map_err(channel)?;
    let mut steps = Steps::new(stream).map_err(channel)?;
    expect(&mut steps, child, |step| matches!(step, Step::Ready { .. })).await?;
    Ok(steps)
}

/// Waits for the step `wanted` accepts; a `failed` step, another step, a closed channel or
/// the successor's exit is the error.
async fn expect(
    steps: &mut Steps,
    child: &mut Child,
    wanted: impl Fn(&Step) -> bool,
) -> Result<(), RecycleError> {
    let step = tokio::select! {
        step = steps.receive() => step,
        status = child.wait() => return Err(exited(status)),
    };
    match step {
        Ok(step) if wanted(&step) => Ok(()),
        Ok(Step::Failed { reason }) => Err(RecycleError::Failed { reason }),
        Ok(step) => Err(RecycleError::Channel(format!("unexpected step {step:?}"))),
        // The channel closed: most likely the successor died; its status says why.
        Err(error) => match tokio::time::timeout(Duration::from_secs(1), child.wait()).await {
            Ok(status) => Err(exited(status)),
            Err(_) => Err(channel(error)),
        },
    }
}

/// Kills the successor and reaps it; returns `error`.
async fn kill(mut child: Child, error: RecycleError) -> RecycleError {
    if let Err(kill_error) = child.kill().await {
        tracing::warn!(%kill_error, "recycle: cannot kill the successor");
    }
    error
}

fn exited(status: std::io::Result<std::process::ExitStatus>) -> RecycleError {
    RecycleError::Exited {
        status: match status {
            Ok(status) => status.to_string(),
            Err(error) => format!("unknown ({error})"),
        },
    }
}

fn channel(error: std::io::Error) -> RecycleError {
    RecycleError::Channel(error.to_string())
}

/// The handover socket's path, removed once the successor connected or the recycle ended.
struct SocketFile(PathBuf);

impl SocketFile {
    fn remove(&self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        self.remove();
    }
}
