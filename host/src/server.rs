//! Starting and stopping a host: listeners, accept loops, graceful shutdown.

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context as _;
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::{conn::auto, graceful::GracefulShutdown},
};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use crate::{
    admin::Admin,
    backends::Backends,
    baseline,
    config::HostConfig,
    deploy::{self, Deployer},
    dispatch::{Dispatcher, RequestLimits},
    edge::Body,
    loader::{Loader, LoaderConfig},
    registry::{Registry, RegistryConfig},
};

/// A host that is serving. Dropping it does not stop it; call [`RunningHost::shutdown`].
pub struct RunningHost {
    pub device_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub registry: Arc<Registry>,
    deployer: Deployer,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Loads the plugins directory, binds both listeners and starts serving.
pub async fn start(config: HostConfig) -> anyhow::Result<RunningHost> {
    std::fs::create_dir_all(&config.plugins_dir).with_context(|| {
        format!(
            "cannot create plugins directory {}",
            config.plugins_dir.display()
        )
    })?;
    let loader = Loader::new(LoaderConfig {
        artifacts: config.artifacts.clone(),
        copies_parent: config.copies_dir.clone(),
        state_dir: config.state_dir.clone(),
    })
    .context("cannot set up the artifact loader")?;
    let registry = Arc::new(Registry::new(RegistryConfig {
        loader: Arc::new(loader),
        retired_limit: config.retired_limit,
    }));
    if config.builtin_bench {
        registry.add_builtin(baseline::version());
    }
    // One spelling of the directory for the scan and for notify's event paths.
    let plugins_dir = config.plugins_dir.canonicalize().with_context(|| {
        format!(
            "cannot resolve plugins directory {}",
            config.plugins_dir.display()
        )
    })?;
    // Watch before the initial scan, so a file that lands in between is not missed.
    let deployer = Deployer::start(registry.clone(), &plugins_dir, config.deployer.clone())
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

    let device_listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let admin_listener = TcpListener::bind(config.admin_listen)
        .await
        .with_context(|| format!("cannot listen on {} (admin)", config.admin_listen))?;
    let device_addr = device_listener.local_addr()?;
    let admin_addr = admin_listener.local_addr()?;
    let (shutdown, shutdown_rx) = watch::channel(false);

    let backends = Arc::new(Backends::new(config.backends.clone())?);
    let dispatcher = Arc::new(Dispatcher::new(
        registry.clone(),
        backends.clone(),
        RequestLimits {
            max_body_bytes: config.max_body_bytes,
            deadline: config.request_deadline,
        },
    ));
    let admin = Arc::new(Admin::new(registry.clone(), backends));
    let grace = config.shutdown_grace;
    let tasks = vec![
        tokio::spawn(accept_loop(
            device_listener,
            move |request| {
                let dispatcher = dispatcher.clone();
                async move { dispatcher.serve(request).await }
            },
            shutdown_rx.clone(),
            grace,
        )),
        tokio::spawn(accept_loop(
            admin_listener,
            move |request| {
                let admin = admin.clone();
                async move { admin.serve(request).await }
            },
            shutdown_rx,
            grace,
        )),
    ];
    tracing::info!(%device_addr, %admin_addr, plugins_dir = %config.plugins_dir.display(), "frontdoor serving");
    Ok(RunningHost {
        device_addr,
        admin_addr,
        registry,
        deployer,
        shutdown,
        tasks,
    })
}

impl RunningHost {
    /// Stops accepting, lets in-flight requests finish (up to the grace period), removes
    /// the private copies the host made and unlocks its state directory.
    pub async fn shutdown(self) {
        let deployer = self.deployer;
        let _ = tokio::task::spawn_blocking(move || deployer.stop()).await;
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        // The deployer is stopped: no load runs. Only the files the host made are removed
        // (mapped libraries stay mapped until the process exits).
        self.registry.loader().close();
        tracing::info!("frontdoor stopped");
    }
}

/// Accepts connections until shutdown, then waits for open connections to finish.
async fn accept_loop<F, Fut>(
    listener: TcpListener,
    handler: F,
    mut shutdown: watch::Receiver<bool>,
    grace: std::time::Duration,
) where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(error) => {
                        // Typically EMFILE: back off briefly instead of spinning.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let handler = handler.clone();
                let service = service_fn(move |request| {
                    let response = handler(request);
                    async move { Ok::<_, Infallible>(response.await) }
                });
                let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => tracing::warn!("shutdown grace period over; closing open connections"),
    }
}
