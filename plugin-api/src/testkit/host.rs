//! The host's side of the ABI, in-process: the request object a handler reads and calls
//! through (`HostRequest`), and the plugin-wide services (`PluginHost`: log, timer) the
//! SDK reaches once `init` stored them.

use std::{
    panic,
    sync::{Arc, Mutex, OnceLock, PoisonError},
    thread,
    time::Duration,
};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RArc, ROption, RResult, RSlice, RStr, Tuple2},
};
use async_ffi::{FfiFuture, FutureExt as _};

use super::{
    backends::{self, CallContext},
    clock,
};
use crate::{
    BackendError, BackendRequest, BackendResponse, BoundModule, HostRequest, HostRequestObj,
    LogLevel, PluginHost, PluginHostObj,
    routing::Params,
    sdk::{entry, modules::RequiredModule},
};

/// A log line a handler wrote (`ctx.log`, or `tracing` through the SDK's bridge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
}

/// One device request as the handler sees it.
pub(crate) struct KitRequest {
    pub(crate) method: String,
    /// The path below the adapter's namespace, still percent-encoded.
    pub(crate) path: String,
    pub(crate) query: String,
    /// Read against `path`, the path they were matched in.
    pub(crate) params: Params,
    /// Names lower case, in the order given.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) number: u64,
    /// By requirement index; `None` is unbound.
    pub(crate) modules: Vec<Option<Arc<BoundModule>>>,
    pub(crate) calls: Arc<CallContext>,
    pub(crate) logs: Arc<Mutex<Vec<LogLine>>>,
}

impl KitRequest {
    pub(crate) fn into_object(self) -> HostRequestObj {
        HostRequestObj::from_ptr(RArc::new(self), TD_Opaque)
    }
}

impl HostRequest for KitRequest {
    fn method(&self) -> RStr<'_> {
        self.method.as_str().into()
    }

    fn path(&self) -> RStr<'_> {
        self.path.as_str().into()
    }

    fn query(&self) -> RStr<'_> {
        self.query.as_str().into()
    }

    fn param(&self, name: RStr<'_>) -> ROption<RStr<'_>> {
        self.params
            .get(&self.path, name.as_str())
            .map(RStr::from)
            .into()
    }

    fn header(&self, name: RStr<'_>) -> ROption<RStr<'_>> {
        crate::plain_headers::first_value(&self.headers, name)
    }

    fn header_count(&self) -> usize {
        self.headers.len()
    }

    fn header_at(&self, index: usize) -> ROption<Tuple2<RStr<'_>, RStr<'_>>> {
        crate::plain_headers::field_at(&self.headers, index)
    }

    fn body(&self) -> RSlice<'_, u8> {
        RSlice::from(self.body.as_slice())
    }

    fn request_id(&self) -> u64 {
        self.number
    }

    fn log(&self, level: LogLevel, message: RStr<'_>) {
        let line = LogLine {
            level,
            message: message.to_string(),
        };
        eprintln!(
            "[plugin {level:?} request {}] {}",
            self.calls.request_id, line.message
        );
        self.logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }

    fn module(&self, index: u32) -> ROption<&BoundModule> {
        usize::try_from(index)
            .ok()
            .and_then(|index| self.modules.get(index))
            .and_then(|module| module.as_deref())
            .into()
    }

    fn backend(
        &self,
        request: BackendRequest,
    ) -> FfiFuture<RResult<BackendResponse, BackendError>> {
        backends::call(self.calls.clone(), request).into_ffi()
    }

    fn deadline_remaining_ms(&self) -> u64 {
        let remaining = self.calls.deadline.saturating_sub(self.calls.clock.now());
        u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX)
    }
}

/// The plugin-wide services: log lines go to the test's stderr (captured by the test
/// harness, shown for a failing test), timers to the virtual clock of the run in progress.
struct KitHost;

impl PluginHost for KitHost {
    fn log(&self, level: LogLevel, target: RStr<'_>, message: RStr<'_>) {
        eprintln!("[plugin {level:?} {target}] {message}");
    }

    fn max_level(&self) -> LogLevel {
        LogLevel::Debug
    }

    fn sleep(&self, nanos: u64) -> FfiFuture<()> {
        let duration = Duration::from_nanos(nanos);
        match clock::current() {
            Some(clock) => clock.sleep(duration).into_ffi(),
            // Polled away from the kit (a thread of the handler's own): a real timer.
            None => real_sleep(duration).into_ffi(),
        }
    }
}

async fn real_sleep(duration: Duration) {
    let (done, wait) = futures_channel_like();
    thread::spawn(move || {
        thread::sleep(duration);
        done();
    });
    wait.await;
}

/// A one-shot completion made of std parts: the sender wakes the waiting future.
fn futures_channel_like() -> (impl FnOnce() + Send, impl std::future::Future<Output = ()>) {
    use std::task::{Poll, Waker};
    let shared: Arc<Mutex<(bool, Option<Waker>)>> = Arc::default();
    let sender = shared.clone();
    let done = move || {
        let mut state = sender.lock().unwrap_or_else(PoisonError::into_inner);
        state.0 = true;
        if let Some(waker) = state.1.take() {
            waker.wake();
        }
    };
    let wait = std::future::poll_fn(move |cx| {
        let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
        if state.0 {
            Poll::Ready(())
        } else {
            state.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    });
    (done, wait)
}

/// The requirements the SDK was initialised with in this process.
static INITIALISED: OnceLock<usize> = OnceLock::new();

/// Does what the host's `init` does for a loaded plugin, once per test process: hands the
/// SDK the kit's services and the adapter's requirements. The SDK keeps both in statics
/// (a plugin is one adapter), so one test binary tests one adapter.
pub(crate) fn initialise(requires: &'static [RequiredModule]) {
    let address = requires.as_ptr() as usize;
    let first = *INITIALISED.get_or_init(|| {
        // `init` installs a panic hook that forwards panics to the host's log; in a test
        // process the harness's own reporting is what a reader wants, so it is put back.
        let hook = panic::take_hook();
        let host: PluginHostObj = PluginHostObj::from_value(KitHost, TD_Opaque);
        let outcome = entry::init(host, requires);
        panic::set_hook(hook);
        if let RResult::RErr(error) = outcome {
            panic!("testkit: the SDK refused to initialise: {error}");
        }
        address
    });
    assert!(
        first == address,
        "testkit: this test binary already runs another adapter's declaration; the SDK keeps \
         one adapter per process, so test one adapter per test binary"
    );
}
