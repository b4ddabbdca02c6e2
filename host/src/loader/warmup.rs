//! Runs a new version's warm-up (the root module's optional `warmup` entry) before the
//! registry may publish it, bounded by the warm-up timeout.
//!
//! It runs on the deployer's thread (the caller), which waits at most the timeout: warm-up
//! is one more step of a load, and a load is already a blocking step of the deployer. The
//! warm-up's future itself runs on the host's runtime, where its backend calls and timers
//! live; the deployer's wait is a plain channel receive with a timeout, so the bound holds
//! even when the plugin blocks the thread polling it (a tokio timer in the same task would
//! never fire then). At the timeout the task is aborted: its future is dropped on the
//! runtime, under the SDK's guard against panicking destructors.

use std::{
    collections::BTreeMap,
    panic::AssertUnwindSafe,
    sync::{Arc, OnceLock, mpsc},
    time::Duration,
};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RArc, RResult},
};
use bytes::Bytes;
use frontdoor_plugin_api::{BindingSet, HandlerErrorKind, HostRequestObj};
use futures_util::FutureExt as _;
use hyper::{HeaderMap, Method, Uri};

use super::{DeviceRequest, LoadError, LoadedLibrary};
use crate::backends::Backends;

/// What an init hook and a warm-up need from the host besides the library: backends, a
/// runtime, bounds, and each adapter's configuration.
#[derive(Clone)]
pub struct WarmupServices {
    pub backends: Arc<Backends>,
    pub runtime: tokio::runtime::Handle,
    /// How long a warm-up may take, backend calls included (`[containment] warmup_timeout_ms`).
    pub timeout: Duration,
    /// How long an init hook may take (`[containment] init_timeout_ms`).
    pub init_timeout: Duration,
    /// `[adapters.NAME.config]` as JSON text, by adapter name, handed to its init hook.
    pub adapter_configs: Arc<BTreeMap<String, String>>,
}

impl std::fmt::Debug for WarmupServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WarmupServices")
            .field("timeout", &self.timeout)
            .field("init_timeout", &self.init_timeout)
            .field("adapter_configs", &self.adapter_configs)
            .finish_non_exhaustive()
    }
}

/// Why a warm-up did not end well; the version stays unpublished.
#[derive(Debug, thiserror::Error)]
pub enum WarmupError {
    #[error("warm-up failed: {0}")]
    Failed(String),
    #[error("warm-up panicked: {0}")]
    Panicked(String),
    #[error("warm-up did not finish within {} ms", .0.as_millis())]
    TimedOut(Duration),
    #[error("warm-up declared but this host has no runtime to run it on")]
    NoRuntime,
}

/// Runs `library`'s init hook, then its warm-up, each if it declares one, and hands the
/// library back once both succeeded: init builds what the version's handlers share (the
/// warm-up may use it), the warm-up exercises it. A failure leaves the library mapped
/// (never closed), which the error says.
pub fn warm_up(
    library: LoadedLibrary,
    services: Option<&WarmupServices>,
) -> Result<LoadedLibrary, LoadError> {
    let left_mapped = |library: &LoadedLibrary, error: LoadError| LoadError::LeftMapped {
        mapped_bytes: library.file_bytes,
        plugin: Some(library.identity.label.clone()),
        error: Box::new(error),
    };
    let init_hook = library.module.init_hook();
    let configured = services.is_some_and(|services| {
        services
            .adapter_configs
            .contains_key(&library.identity.name)
    });
    if init_hook.is_none() && configured {
        tracing::warn!(
            plugin = %library.identity.label,
            "[adapters.{}.config] is set but this version declares no init hook to read it",
            library.identity.name
        );
    }
    // `None` both for "declared none" and for a plugin built before the entry existed.
    if let Some(entry) = init_hook {
        let outcome = match services {
            Some(services) => super::init_hook::run(entry, &library, services),
            None => Err(super::init_hook::InitError::Failed(
                "this host has no runtime to run it on".into(),
            )),
        };
        match outcome {
            Ok(()) => tracing::info!(plugin = %library.identity.label, "init succeeded"),
            Err(error) => return Err(left_mapped(&library, LoadError::Init(error))),
        }
    }
    let Some(entry) = library.module.warmup() else {
        return Ok(library);
    };
    let outcome = match services {
        Some(services) => run(entry, &library, services),
        None => Err(WarmupError::NoRuntime),
    };
    match outcome {
        Ok(()) => {
            tracing::info!(plugin = %library.identity.label, "warm-up succeeded");
            Ok(library)
        }
        Err(error) => Err(left_mapped(&library, LoadError::Warmup(error))),
    }
}

type Entry = extern "C" fn(HostRequestObj) -> frontdoor_plugin_api::abi::WarmupFuture;

fn run(
    entry: Entry,
    library: &LoadedLibrary,
    services: &WarmupServices,
) -> Result<(), WarmupError> {
    let request = entry_request(library, services, services.timeout);
    // The SDK catches a panic of the synchronous start and returns it as an error future
    // (an unwind out of this `extern "C"` call would abort, not reach the host).
    let future = entry(request);
    let (done, outcome) = mpsc::sync_channel(1);
    let task = services.runtime.spawn(async move {
        // async-ffi re-raises a panic of the plugin's poll here; it ends as a value.
        let result = AssertUnwindSafe(future).catch_unwind().await;
        let _ = done.send(result);
    });
    match outcome.recv_timeout(services.timeout) {
        Ok(Ok(RResult::ROk(()))) => Ok(()),
        Ok(Ok(RResult::RErr(error))) => Err(match error.kind {
            HandlerErrorKind::Panicked => WarmupError::Panicked(error.message.into_string()),
            _ => WarmupError::Failed(error.message.into_string()),
        }),
        Ok(Err(_)) => Err(WarmupError::Panicked("across the ABI".into())),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            task.abort();
            Err(WarmupError::TimedOut(services.timeout))
        }
        // The task ended without sending: the runtime shut down under it.
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(WarmupError::Failed("the host's runtime stopped".into()))
        }
    }
}

/// The host object an init hook or a warm-up reaches the host through: the same one a
/// device request gets, so backend calls take the same path (resiliency layer, a deadline
/// `timeout` from now), with its own request id; no path, headers, body or shared-module
/// bindings (none exist before publication).
pub(super) fn entry_request(
    library: &LoadedLibrary,
    services: &WarmupServices,
    timeout: Duration,
) -> HostRequestObj {
    let request = DeviceRequest {
        method: Method::GET,
        uri: Uri::from_static("/"),
        path_offset: 0,
        headers: HeaderMap::new(),
        params: crate::router::Params::default(),
        body: Bytes::new(),
        request_id: 0,
        // Its own id, so its backend calls and log lines can be told apart; in no trace.
        origin: crate::requests::CallOrigin::new(
            crate::requests::RequestId::generate(),
            tokio::time::Instant::now(),
            None,
        ),
        identity: library.identity.clone(),
        modules: RArc::new(BindingSet::empty()),
        backends: services.backends.clone(),
        deadline: tokio::time::Instant::now() + timeout,
        scope: OnceLock::new(),
        // Its headers are empty, and stay so: no id header, as before publication.
        id_header_virtual: false,
        shadow: false,
    };
    HostRequestObj::from_ptr(RArc::new(request), TD_Opaque)
}
