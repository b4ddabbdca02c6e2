//! Realistic fake backend microservices on 127.0.0.1 (catalog, profiles, recommendations,
//! bookmarks, playback) with faults switchable at run time and request counters, for the
//! demo and the integration tests: device adapters call them through the Frontdoor host.
//!
//! Each service is its own HTTP/1.1 server on its own port; a separate control server
//! sets faults and reads stats over HTTP. In process, [`start`] returns a [`SampleBackends`]
//! that does the same directly.

mod backend;
mod control;
mod data;
mod faults;
mod http;
mod ports;
mod server;
mod service;
mod shutdown;
mod stats;

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::Arc,
};

use anyhow::Context as _;
use tokio::task::JoinHandle;

pub use faults::{Faults, FaultsError, InvalidFaults};
pub use ports::ephemeral_port_start;
pub use server::SHUTDOWN_GRACE;
pub use service::{Service, UnknownService};
pub use stats::{MAX_PATHS, OTHER_PATHS, Stats};

use crate::{
    backend::{Backend, Fleet},
    server::Gate,
};

/// Where to listen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SampleConfig {
    /// `None`: every server on an ephemeral port. `Some(p)`: control on `p`, then the
    /// services on `p + 1` to `p + 5` in [`Service::ALL`] order.
    pub base_port: Option<u16>,
}

/// The running services and their control server. Dropping it stops them without waiting;
/// [`SampleBackends::shutdown`] waits until every socket is closed.
#[derive(Debug)]
pub struct SampleBackends {
    fleet: Arc<Fleet>,
    control_addr: SocketAddr,
    trigger: shutdown::Trigger,
    tasks: Vec<JoinHandle<()>>,
}

/// Binds the control server and the five services on 127.0.0.1 and starts serving.
pub async fn start(config: SampleConfig) -> anyhow::Result<SampleBackends> {
    let port = |offset: u16| match config.base_port {
        None => Ok(0),
        Some(base) => base
            .checked_add(offset)
            .filter(|_| base > 0)
            .with_context(|| format!("base port {base} must be from 1 to 65530")),
    };
    let control_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port(0)?));
    let control_listener = server::bind(control_addr)
        .with_context(|| format!("cannot listen on {control_addr} (control)"))?;
    let control_addr = control_listener.local_addr()?;
    let mut listeners = Vec::with_capacity(Service::ALL.len());
    for service in Service::ALL {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port(service.port_offset())?));
        let listener =
            server::bind(addr).with_context(|| format!("cannot listen on {addr} ({service})"))?;
        listeners.push((service, listener));
    }

    let (trigger, stop) = shutdown::channel();
    let mut backends = Vec::with_capacity(listeners.len());
    let mut tasks = Vec::with_capacity(listeners.len() + 1);
    for (service, listener) in listeners {
        let backend = Arc::new(Backend::new(service, listener.local_addr()?));
        let (handler_backend, request_stop) = (backend.clone(), stop.clone());
        let handler = move |request| handler_backend.clone().serve(request, request_stop.clone());
        tasks.push(server::spawn(
            listener,
            backend.gate.clone(),
            handler,
            stop.clone(),
        )?);
        tracing::info!(%service, addr = %backend.addr, "serving");
        backends.push(backend);
    }
    let fleet: Arc<Fleet> = Arc::new(
        backends
            .try_into()
            .map_err(|_| anyhow::anyhow!("expected one backend per service"))?,
    );
    let control_fleet = fleet.clone();
    let handler = move |request| control::serve(control_fleet.clone(), request);
    // Nobody closes the control server's gate: it answers while services refuse.
    tasks.push(server::spawn(
        control_listener,
        Gate::open(),
        handler,
        stop,
    )?);
    tracing::info!(addr = %control_addr, "control serving");
    Ok(SampleBackends {
        fleet,
        control_addr,
        trigger,
        tasks,
    })
}

impl SampleBackends {
    /// The address `service` listens on (also while it refuses: the port is kept).
    pub fn addr(&self, service: Service) -> SocketAddr {
        self.backend(service).addr
    }

    /// `http://127.0.0.1:PORT` of `service`, without a trailing slash.
    pub fn url(&self, service: Service) -> String {
        format!("http://{}", self.addr(service))
    }

    pub fn control_addr(&self) -> SocketAddr {
        self.control_addr
    }

    /// `http://127.0.0.1:PORT` of the control server.
    pub fn control_url(&self) -> String {
        format!("http://{}", self.control_addr)
    }

    /// Replaces `service`'s faults and restarts the request count its error rate works on.
    ///
    /// Returns once the listener matches `refuse`: closed (connections refused, open
    /// connections closed after their current request) or listening again on the same port.
    pub async fn set_faults(&self, service: Service, faults: Faults) -> Result<(), FaultsError> {
        self.backend(service).set_faults(faults).await.map(drop)
    }

    pub fn faults(&self, service: Service) -> Faults {
        self.backend(service).faults()
    }

    pub fn stats(&self, service: Service) -> Stats {
        self.backend(service).stats()
    }

    /// Zeroes `service`'s counts; requests in flight stay counted as in flight.
    pub fn reset_stats(&self, service: Service) {
        self.backend(service).reset_stats();
    }

    /// Stops every server: listeners close, hung and delayed requests are dropped, other
    /// requests in progress are answered. Returns once every socket is closed, after at
    /// most about [`SHUTDOWN_GRACE`].
    pub async fn shutdown(self) {
        self.trigger.pull();
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::warn!(%error, "a server task failed");
            }
        }
        tracing::info!("sample backends stopped");
    }

    fn backend(&self, service: Service) -> &Backend {
        &self.fleet[service.index()]
    }
}
