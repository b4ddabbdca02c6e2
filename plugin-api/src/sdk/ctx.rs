//! Services the host offers a handler for the duration of one request.

use std::{marker::PhantomData, time::Duration};

use abi_stable::std_types::RStr;

use super::interface::{Declares, Interface, NoModules};
use crate::{HostRequestObj, LogLevel};

/// The handler's way to the host: logging tied to the request, timers, backends, shared
/// modules and the state the adapter's init built. Cheap to pass around by reference inside
/// the handler.
///
/// `A` is what the handler knows of its adapter at compile time. A handler that calls
/// shared modules takes `Ctx<Adapter>`, the marker `export_adapter!` declares beside it:
/// `ctx.module::<I>()` compiles only for an interface `I` declared in that adapter's
/// `requires`. Plain `Ctx` (`Ctx<NoModules>`) reaches everything else.
pub struct Ctx<A = NoModules> {
    host: HostRequestObj,
    // `fn() -> A`: the marker is never held, so `Ctx` is `Send + Sync` whatever `A` is.
    adapter: PhantomData<fn() -> A>,
}

impl<A> Ctx<A> {
    pub(crate) fn new(host: HostRequestObj) -> Self {
        Self {
            host,
            adapter: PhantomData,
        }
    }

    /// A number unique to this request in the host process; the id devices, backends and
    /// logs know it by is its `x-request-id` header.
    pub fn request_id(&self) -> u64 {
        self.host.request_id()
    }

    /// Logs one line into the host's log, tagged with plugin, version and request id.
    /// `tracing::info!` and friends work too; this form attaches the request id.
    pub fn log(&self, level: LogLevel, message: &str) {
        self.host.log(level, RStr::from(message));
    }

    /// The shared module bound to the requirement declared with interface `I` (its handle
    /// type), for this request: a newer version landing mid-request changes neither it nor
    /// the modules it calls in turn.
    ///
    /// Compile-time checked: `I` must be declared in the adapter's `requires` (and the
    /// handler take `Ctx<Adapter>`). The check is kept at run time too.
    pub fn module<I: Interface>(&self) -> Result<I, super::ModuleError>
    where
        A: Declares<I>,
    {
        super::modules::for_request(&self.host)
    }

    /// What the adapter's `init:` hook built for this loaded version, as `S` (the type its
    /// init returned). Each version has its own: after a hot swap, requests on the new
    /// version see the new version's state.
    pub fn state<S: Send + Sync + 'static>(&self) -> Result<&'static S, super::StateError> {
        super::state::get()
    }

    /// A backend by its configured name, for calls bound to this request (its deadline, its
    /// deduplication of identical GETs).
    pub fn backend<'a>(&'a self, name: &'a str) -> super::Backend<'a> {
        super::Backend::new(&self.host, name)
    }

    /// Time left before this request's deadline.
    pub fn deadline_remaining(&self) -> Duration {
        Duration::from_millis(self.host.deadline_remaining_ms())
    }

    /// Waits on the host's timer. `tokio::time::sleep` inside a plugin panics: the plugin's
    /// copy of tokio has no runtime.
    pub async fn sleep(&self, duration: Duration) {
        super::entry::sleep(duration).await;
    }
}
