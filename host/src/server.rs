//! Starting and stopping a host: listeners, accept loops, graceful shutdown.
//!
//! The device listener runs on the caller's runtime; the admin listener on a thread and
//! runtime of its own (`admin_thread.rs`), so device traffic cannot starve it. Both hold
//! clients to the same [`ListenerConfig`] limits (`[listener]` in `frontdoor.toml`).

mod accept;
mod accept_queue;
mod activity;
mod admin_thread;
mod connection;
mod head_limit;
mod listener_config;
mod refusal;
mod stats;
mod tracked_io;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context as _;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

pub use listener_config::{ListenerConfig, ListenerConfigError, ListenerFileConfig};
pub use stats::{ListenerStats, ListenerView, Listeners, ListenersView};

use crate::{
    admin::Admin,
    backends::Backends,
    baseline,
    config::HostConfig,
    console::{Console, history::History},
    containment::{
        monitor::{self, Monitor},
        watchdog,
    },
    control::{self, Control},
    deploy::{self, Deployer},
    dispatch::{Dispatcher, RequestLimits},
    fleet::Fleet,
    loader::{InheritedLock, Loader, LoaderConfig, WarmupServices},
    metrics::{Exposition, HostMetrics},
    otel::Exporter,
    recycle::{self, Inherited, Recycler, RecyclerParts},
    registry::{Registry, RegistryConfig},
    requests::Insight,
    traffic::Traffic,
};
use accept::accept_loop;
use admin_thread::AdminThread;

/// A host that is serving. Dropping it does not stop it; call [`RunningHost::shutdown`].
pub struct RunningHost {
    pub device_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub registry: Arc<Registry>,
    /// Canary plans and shadows: snapshot, restore, change hook.
    pub traffic: Arc<Traffic>,
    deployer: Deployer,
    monitor: Monitor,
    /// Runs the futures of versions that blocked a device worker.
    isolation: IsolationRuntime,
    shutdown: watch::Sender<Option<Duration>>,
    device: JoinHandle<()>,
    admin: AdminThread,
    /// The span exporter, when `[telemetry] otlp_endpoint` is set.
    exporter: Option<Exporter>,
    /// Opens both accept loops (at once, or once a successor's predecessor said go).
    accepting: watch::Sender<bool>,
    /// Hands the listening sockets to a fresh process.
    pub recycler: Arc<Recycler>,
    /// In-flight requests' time at shutdown...
    grace: Duration,
    /// ...and once handed over to a successor.
    recycle_grace: Duration,
}

/// The runtime that runs the futures of versions that blocked a device worker. Dropping a
/// tokio runtime inside async code panics, so this one shuts down in the background when
/// dropped: at shutdown, or when `start` fails after creating it.
struct IsolationRuntime(Option<tokio::runtime::Runtime>);

impl IsolationRuntime {
    fn handle(&self) -> tokio::runtime::Handle {
        match &self.0 {
            Some(runtime) => runtime.handle().clone(),
            // Only `Drop` takes the runtime out.
            None => tokio::runtime::Handle::current(),
        }
    }
}

impl Drop for IsolationRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Loads the plugins directory, binds both listeners and starts serving.
pub async fn start(config: HostConfig) -> anyhow::Result<RunningHost> {
    let host = start_with(config, None).await?;
    host.begin_accepting();
    Ok(host)
}

/// [`start`] for a recycle's successor too: with `inherited`, the host serves the listening
/// sockets and takes over the state directory's lock a predecessor handed over, and accepts
/// only after [`RunningHost::begin_accepting`]. Without, it binds its own, and accepts on
/// the same call.
pub async fn start_with(
    config: HostConfig,
    inherited: Option<Inherited>,
) -> anyhow::Result<RunningHost> {
    control::check_listen(&config.admin_auth, config.admin_listen)?;
    let (inherited_listeners, inherited_lock) = match inherited {
        Some(inherited) => (
            Some((inherited.device, inherited.admin)),
            Some(InheritedLock {
                file: inherited.state_lock,
                predecessor_pid: inherited.parent_pid,
            }),
        ),
        None => (None, None),
    };
    let predecessor = inherited_lock.as_ref().map(|lock| lock.predecessor_pid);
    std::fs::create_dir_all(&config.plugins_dir).with_context(|| {
        format!(
            "cannot create plugins directory {}",
            config.plugins_dir.display()
        )
    })?;
    watchdog::ensure_running();
    watchdog::keep_awake(tokio::runtime::Handle::current());
    let (notices, monitor_inbox) = monitor::channel();
    let loader = Loader::taking_over(
        LoaderConfig {
            artifacts: config.artifacts.clone(),
            copies_parent: config.copies_dir.clone(),
            state_dir: config.state_dir.clone(),
        },
        inherited_lock,
    )
    .context("cannot set up the artifact loader")?;
    // Before the registry: warm-ups call backends, from the first load on.
    let backends = Arc::new(Backends::new(config.backends.clone())?);
    let registry = Arc::new(Registry::new(RegistryConfig {
        loader: Arc::new(loader),
        retired_limit: config.retired_limit,
        containment: config.containment.clone(),
        notices: Some(notices.clone()),
        warmup: Some(WarmupServices {
            backends: backends.clone(),
            runtime: tokio::runtime::Handle::current(),
            timeout: config.containment.warmup_timeout,
            init_timeout: config.containment.init_timeout,
            adapter_configs: Arc::new(config.adapter_configs.clone()),
        }),
    }));
    // Operators' saved decisions apply from the first publication on.
    let control = Arc::new(Control::open(
        config.admin_auth.clone(),
        &config.state_dir,
        registry.clone(),
    )?);
    if config.builtin_bench {
        registry.add_builtin(baseline::version());
        registry.add_builtin(baseline::fanout_version());
    }
    // One spelling of the directory for the scan and for notify's event paths.
    let plugins_dir = config.plugins_dir.canonicalize().with_context(|| {
        format!(
            "cannot resolve plugins directory {}",
            config.plugins_dir.display()
        )
    })?;
    let metrics = Arc::new(HostMetrics::default());
    // Watch before the initial scan, so a file that lands in between is not missed.
    let deployer = Deployer::start(
        registry.clone(),
        &plugins_dir,
        config.deployer.clone(),
        metrics.clone(),
    )
    .with_context(|| format!("cannot watch plugins directory {}", plugins_dir.display()))?;
    let initial = {
        let registry = registry.clone();
        let dir = plugins_dir.clone();
        // dlopen and plugin init block; keep them off the runtime's worker threads.
        tokio::task::spawn_blocking(move || deploy::reconcile(&registry, &dir))
    };
    initial
        .await
        .context("initial load panicked")?
        .with_context(|| format!("cannot read plugins directory {}", plugins_dir.display()))?;

    let (device_listener, admin_listener) = match inherited_listeners {
        Some((device, admin)) => {
            device.set_nonblocking(true)?;
            (
                TcpListener::from_std(device).context("cannot serve the inherited listener")?,
                admin,
            )
        }
        None => (
            TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?,
            std::net::TcpListener::bind(config.admin_listen)
                .with_context(|| format!("cannot listen on {} (admin)", config.admin_listen))?,
        ),
    };
    let device_addr = device_listener.local_addr()?;
    let admin_addr = admin_listener.local_addr()?;
    let (shutdown, shutdown_rx) = watch::channel(None);
    let (accepting, accepting_rx) = watch::channel(false);
    // Held for the life of the host, for a successor.
    let descriptors = recycle::Descriptors {
        device: rustix::io::fcntl_dupfd_cloexec(&device_listener, 0)
            .context("cannot duplicate the device listener")?,
        admin: rustix::io::fcntl_dupfd_cloexec(&admin_listener, 0)
            .context("cannot duplicate the admin listener")?,
        state_lock: registry
            .loader()
            .share_state_lock()
            .context("cannot duplicate the state directory's lock")?,
    };

    let limits = Arc::new(config.listener.clone());
    let listeners = Arc::new(Listeners {
        device: Arc::new(ListenerStats::new(
            limits.max_connections,
            accept_queue::socket_inode(&device_listener),
        )),
        admin: Arc::new(ListenerStats::new(
            limits.max_connections,
            accept_queue::socket_inode(&admin_listener),
        )),
    });
    let isolation = IsolationRuntime(Some(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("frontdoor-isolation")
            .enable_all()
            .build()
            .context("cannot start the isolation runtime")?,
    ));
    let monitor = Monitor::start(
        registry.clone(),
        config.containment.sample_every,
        notices,
        monitor_inbox,
    )
    .context("cannot start the monitor thread")?;
    let traffic = {
        let registry = registry.clone();
        let mut traffic_config = config.traffic.clone();
        traffic_config.restore = Some(control.saved_traffic());
        Traffic::new(
            traffic_config,
            tokio::runtime::Handle::current(),
            Box::new(move |adapter| {
                let table = registry.table();
                let default = table.adapter(adapter)?.select(None)?;
                Some(default.version.identity.version.clone())
            }),
        )
    };
    control.attach_traffic(traffic.clone());
    let (spans, exporter) = match config.telemetry.export.clone() {
        Some(export) => {
            let (queue, exporter) = Exporter::start(export);
            (Some(queue), Some(exporter))
        }
        None => (None, None),
    };
    let insight = Arc::new(Insight::new(config.telemetry.recent.clone(), spans));
    let dispatcher = Arc::new(Dispatcher::new(
        registry.clone(),
        backends.clone(),
        traffic.clone(),
        RequestLimits {
            max_body_bytes: config.max_body_bytes,
            body_read_timeout: limits.body_read_timeout,
            deadline: config.request_deadline,
            handler_timeout: config.containment.handler_timeout(config.request_deadline),
        },
        isolation.handle(),
        metrics.clone(),
        insight.clone(),
    ));
    let recycler = {
        let control = control.clone();
        Arc::new(Recycler::new(RecyclerParts {
            config: config.recycle.clone(),
            relaunch: config.relaunch.clone(),
            descriptors,
            state_dir: config.state_dir.clone(),
            runtime: tokio::runtime::Handle::current(),
            counters: metrics.recycles.clone(),
            predecessor,
            on_progress: Box::new(move |running| control.hold_changes(running)),
        }))
    };
    let exposition = Arc::new(Exposition::new(
        registry.clone(),
        backends.clone(),
        listeners.clone(),
        metrics,
    ));
    let history = Arc::new(History::default());
    tokio::spawn(history.clone().run(registry.clone(), shutdown_rx.clone()));
    // Fleet mode: connects lazily; serving never waits for etcd or the store.
    let fleet = match config.fleet.clone() {
        Some(fleet_config) => {
            let fleet = Fleet::new(
                fleet_config,
                config.artifacts.max_artifact_bytes,
                registry.clone(),
                control.clone(),
                plugins_dir.clone(),
                device_addr,
                admin_addr,
            )
            .await?;
            fleet.start(shutdown_rx.clone());
            Some(fleet)
        }
        None => None,
    };
    let console = Arc::new(Console::new(
        registry.clone(),
        backends.clone(),
        control.clone(),
        traffic.clone(),
        insight.clone(),
        history,
        fleet.clone(),
    ));
    let admin = Arc::new(Admin {
        registry: registry.clone(),
        backends,
        listeners: listeners.clone(),
        log_control: config.log_control.clone(),
        control,
        exposition,
        insight,
        recycler: recycler.clone(),
        console: Some(console),
        fleet,
    });
    let admin = admin_thread::spawn(
        admin_listener,
        move |request| {
            let admin = admin.clone();
            async move { admin.serve(request).await }
        },
        limits.clone(),
        listeners.admin.clone(),
        accepting_rx.clone(),
        shutdown_rx.clone(),
    )
    .context("cannot start the admin thread")?;
    let device = tokio::spawn(accept_loop(
        device_listener,
        // Boxed once here: hyper moves what the service returns into its connection state,
        // so a pointer moves instead of the whole future (4 % less CPU per trivial request,
        // measured). `serve` routes the request at once and keeps the rest under 1 KiB.
        move |request| Box::pin(dispatcher.serve(request)),
        limits,
        listeners.device.clone(),
        accepting_rx,
        shutdown_rx,
    ));
    if config.relaunch.is_some() {
        recycle::spawn_auto(&recycler, registry.clone());
    }
    tracing::info!(%device_addr, %admin_addr, plugins_dir = %config.plugins_dir.display(), "frontdoor serving");
    Ok(RunningHost {
        device_addr,
        admin_addr,
        registry,
        traffic,
        deployer,
        monitor,
        isolation,
        shutdown,
        device,
        admin,
        exporter,
        accepting,
        recycler,
        grace: config.shutdown_grace,
        recycle_grace: config.recycle.grace.unwrap_or(config.shutdown_grace),
    })
}

impl RunningHost {
    /// Starts accepting on both listeners (a no-op for a host [`start`] returned).
    pub fn begin_accepting(&self) {
        self.accepting.send_replace(true);
    }

    /// Stops accepting, lets in-flight requests finish (up to the grace period), removes
    /// the private copies the host made and unlocks its state directory.
    pub async fn shutdown(self) {
        let grace = self.grace;
        self.shutdown_within(grace).await;
    }

    /// [`RunningHost::shutdown`] of a host that handed over to a successor: the grace
    /// period is `[recycle] grace_secs`; the state directory stays locked by the successor.
    pub async fn hand_over(self) {
        let grace = self.recycle_grace;
        self.shutdown_within(grace).await;
    }

    async fn shutdown_within(self, grace: Duration) {
        let deployer = self.deployer;
        let monitor = self.monitor;
        let _ = tokio::task::spawn_blocking(move || {
            deployer.stop();
            monitor.stop();
        })
        .await;
        self.traffic.stop();
        let _ = self.shutdown.send(Some(grace));
        let device = async {
            if let Err(error) = self.device.await {
                tracing::error!(%error, "the device accept loop failed");
            }
        };
        tokio::join!(device, self.admin.join());
        // Every request has ended: its spans are queued; send them before stopping.
        if let Some(exporter) = self.exporter {
            exporter.finish().await;
        }
        // Requests of offloaded versions were awaited above; a future still parked there
        // belongs to a connection the grace period already gave up on.
        drop(self.isolation);
        // The deployer is stopped: no load runs. Only the files the host made are removed
        // (mapped libraries stay mapped until the process exits).
        self.registry.loader().close();
        tracing::info!("frontdoor stopped");
    }
}

#[cfg(test)]
mod tests;
