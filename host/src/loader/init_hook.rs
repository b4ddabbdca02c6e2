//! Runs a new adapter version's init hook (the root module's optional `init_hook` entry)
//! with its configuration, before its warm-up and before the registry may publish it.
//!
//! The hook runs on a thread of its own, driven by the host's runtime handle (so its backend
//! calls and timers work as in a handler), while the deployer waits at most the init
//! timeout (not counting the time the thread waited for a CPU: see `work_deadline`). A
//! hook that blocks its thread (a synchronous call in async code) costs that
//! thread, never a device worker, and is reported as blocking: the thread marks each poll,
//! and a poll still running at the deadline is a blocked thread, not a slow await. A hook
//! still awaiting at the deadline is cancelled (its future dropped, under the SDK's guard).

use std::{
    panic::AssertUnwindSafe,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicI32, Ordering},
        mpsc,
    },
    time::Duration,
};

use abi_stable::std_types::{RResult, RString};
use frontdoor_plugin_api::{HandlerError, HandlerErrorKind, HostRequestObj};
use futures_util::FutureExt as _;
use std::future::Future as _;

use super::{
    LoadedLibrary, WarmupServices,
    work_deadline::{self, WorkDeadline},
};

/// Why an init hook did not end well; the version stays unpublished.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("init failed: {0}")]
    Failed(String),
    #[error("init panicked: {0}")]
    Panicked(String),
    #[error("init did not finish within {} ms{}", .0.as_millis(), work_deadline::waiting_note(*.1))]
    TimedOut(Duration, Duration),
    #[error(
        "init blocked its thread for more than {} ms{} (a synchronous wait in async code?)",
        .0.as_millis(), work_deadline::waiting_note(*.1)
    )]
    Blocked(Duration, Duration),
    #[error("init could not start: {0}")]
    NoThread(String),
}

type Entry = extern "C" fn(HostRequestObj, RString) -> frontdoor_plugin_api::abi::InitFuture;

/// Runs `entry`, the init hook of `library`, with the adapter's configuration (JSON text).
pub(super) fn run(
    entry: Entry,
    library: &LoadedLibrary,
    services: &WarmupServices,
) -> Result<(), InitError> {
    let timeout = services.init_timeout;
    let config = services
        .adapter_configs
        .get(&library.identity.name)
        .map_or("{}", String::as_str);
    let request = super::warmup::entry_request(library, services, timeout);
    // The SDK catches a panic of the synchronous start and returns it as an error future.
    let future = entry(request, RString::from(config));

    let in_poll = Arc::new(AtomicBool::new(false));
    let (done, outcome) = mpsc::sync_channel(1);
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    let runtime = services.runtime.clone();
    let marks = in_poll.clone();
    // The hook thread's id, once it runs, so its deadline can leave out its CPU wait.
    let thread_id = Arc::new(AtomicI32::new(0));
    let reports_id = thread_id.clone();
    let mut deadline = WorkDeadline::for_new_thread(timeout);
    std::thread::Builder::new()
        .name(format!("init {}", library.identity.label))
        .spawn(move || {
            reports_id.store(work_deadline::current_thread_id(), Ordering::SeqCst);
            let mut future = future;
            let marked = std::future::poll_fn(move |cx| {
                marks.store(true, Ordering::SeqCst);
                let poll = std::pin::Pin::new(&mut future).poll(cx);
                marks.store(false, Ordering::SeqCst);
                poll
            });
            let result = runtime.block_on(async move {
                tokio::select! {
                    // async-ffi re-raises a panic of the plugin's poll here; it ends as a value.
                    result = AssertUnwindSafe(marked).catch_unwind() => Some(result),
                    _ = cancelled => None,
                }
            });
            if let Some(result) = result {
                let _ = done.send(result);
            }
        })
        .map_err(|error| InitError::NoThread(error.to_string()))?;

    let received = loop {
        if let id @ 1.. = thread_id.swap(0, Ordering::SeqCst) {
            deadline.know_thread(id);
        }
        let left = deadline.standing().left;
        if left.is_zero() {
            break Err(mpsc::RecvTimeoutError::Timeout);
        }
        match outcome.recv_timeout(left) {
            // Time passed, but part of it may have been waiting for a CPU: read again.
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            received => break received,
        }
    };
    match received {
        Ok(Ok(RResult::ROk(()))) => Ok(()),
        Ok(Ok(RResult::RErr(error))) => Err(refusal(error)),
        Ok(Err(_)) => Err(InitError::Panicked("across the ABI".into())),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let blocked = in_poll.load(Ordering::SeqCst);
            // Dropping the future ends a pending hook; a blocked one sees it when (if) its
            // poll returns, and its thread is lost until then.
            let _ = cancel.send(());
            let waited = deadline.standing().waited;
            Err(if blocked {
                InitError::Blocked(timeout, waited)
            } else {
                InitError::TimedOut(timeout, waited)
            })
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(InitError::Failed("the host's runtime stopped".into()))
        }
    }
}

fn refusal(error: HandlerError) -> InitError {
    match error.kind {
        HandlerErrorKind::Panicked => InitError::Panicked(error.message.into_string()),
        _ => InitError::Failed(error.message.into_string()),
    }
}
