//! The `frontdoor` command line: parse, set up logging, serve until SIGINT or SIGTERM or
//! until a recycle (SIGUSR2, `POST /admin/recycle`) handed over to a successor.
//!
//! Lives in the library so the integration tests can build the very same binary.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};

use crate::{
    config::ServeArgs,
    logging::{LogControl, LogFormat},
    recycle::{self, handover::Step},
};

#[derive(Debug, Parser)]
#[command(
    name = "frontdoor",
    version,
    about = "Serve device adapters loaded from a watched plugins directory"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load the plugins directory and serve devices and the admin API.
    Serve(Box<ServeArgs>),
    /// Operate a running host's versions through its admin API (pin, rollback, disable...).
    Ctl(crate::control::ctl::CtlArgs),
    /// Publish signed artifacts to a fleet of hosts, and see what every host serves.
    Fleet(crate::fleet::publish::FleetArgs),
    /// The load probe (run by the host itself): load one private copy of an artifact the
    /// way the host would, report each step on stdout, exit.
    #[command(name = "probe-artifact", hide = true)]
    ProbeArtifact {
        /// The host's pid: the probe ends if it is not its parent.
        #[arg(long)]
        parent_pid: Option<u32>,
        /// The private copy to load.
        copy: PathBuf,
    },
}

/// The whole binary: returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Command::Serve(args) => args,
        Command::Ctl(args) => return crate::control::ctl::run(args),
        Command::Fleet(args) => return crate::fleet::publish::run(args),
        // No runtime: a probe only opens a library and calls its entry points.
        Command::ProbeArtifact { parent_pid, copy } => {
            init_probe_logging();
            crate::loader::run_probe_child(&copy, parent_pid)
        }
    };
    let log_control = init_logging(args.log_format);
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Polls of host futures a plugin awaits on these threads need not enter the runtime.
        .on_thread_start(crate::loader::mark_runtime_thread)
        .build()
        .context("cannot start the tokio runtime")
        .and_then(|runtime| runtime.block_on(serve(*args, log_control)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("frontdoor: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, as text or JSON lines, through a filter from `RUST_LOG` (default `info`)
/// that the admin API can change while the host runs.
fn init_logging(format: LogFormat) -> Arc<LogControl> {
    use tracing_subscriber::{
        EnvFilter, layer::SubscriberExt as _, reload, util::SubscriberInitExt as _,
    };
    let initial = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    let filter = EnvFilter::try_new(&initial).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let text = (format == LogFormat::Text).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
    });
    // Event fields at the top level, so `plugin` and `request_id` are keys of each line.
    let json = (format == LogFormat::Json).then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(std::io::stderr)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .init();
    Arc::new(LogControl::new(initial, move |directives| {
        let filter = EnvFilter::try_new(directives).map_err(|error| error.to_string())?;
        handle.reload(filter).map_err(|error| error.to_string())
    }))
}

/// The probe logs what its plugin says to stderr, which the host reads back on failure.
fn init_probe_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

async fn serve(args: ServeArgs, log_control: Arc<LogControl>) -> anyhow::Result<()> {
    // A successor takes its sockets first: if it cannot serve, its predecessor hears why.
    let handover = match recycle::handover::socket_from_env() {
        Some(path) => Some(take_over(&path).await?),
        None => None,
    };
    let (inherited, mut steps) = match handover {
        Some((inherited, steps)) => (Some(inherited), Some(steps)),
        None => (None, None),
    };
    let started = start_host(args, log_control, inherited).await;
    let (host, pid_file) = match started {
        Ok(started) => started,
        Err(error) => {
            if let Some(steps) = &mut steps {
                let reason = format!("{error:#}");
                let _ = steps.send(&Step::Failed { reason }).await;
            }
            return Err(error);
        }
    };
    if let Some(mut steps) = steps {
        // Ready: loaded, warmed up, state restored. Accept only once the predecessor says
        // go; if it does not (it gave up on this process, or died), leave.
        let pid = std::process::id();
        let go = async {
            steps.send(&Step::Ready { pid }).await?;
            match steps.receive().await? {
                Step::Go => Ok(()),
                other => Err(std::io::Error::other(format!("unexpected step {other:?}"))),
            }
        }
        .await;
        if let Err(error) = go {
            tracing::error!(%error, "the previous host did not hand over; stopping");
            host.shutdown().await;
            anyhow::bail!("the previous host did not hand over: {error}");
        }
        host.begin_accepting();
        write_pid_file(pid_file.as_deref());
        if let Err(error) = steps.send(&Step::Accepting).await {
            // This process accepts already: serving is right whatever the predecessor does.
            tracing::warn!(%error, "cannot tell the previous host that this one accepts");
        }
        tracing::info!(predecessor_pid = ?host.recycler.view().predecessor_pid, "took over from the previous host");
    } else {
        host.begin_accepting();
        write_pid_file(pid_file.as_deref());
    }
    let handed_over = wait_for_stop(&host).await?;
    match handed_over {
        Some(successor) => {
            tracing::info!(
                successor_pid = successor,
                "handed over; finishing in-flight requests"
            );
            host.hand_over().await;
        }
        None => {
            tracing::info!("stop signal received; finishing in-flight requests");
            host.shutdown().await;
        }
    }
    if let Some(path) = &pid_file {
        recycle::pid_file::remove_if_mine(path, std::process::id());
    }
    Ok(())
}

/// Resolves the configuration and starts the host; returns it with its PID file.
async fn start_host(
    args: ServeArgs,
    log_control: Arc<LogControl>,
    inherited: Option<recycle::Inherited>,
) -> anyhow::Result<(crate::RunningHost, Option<PathBuf>)> {
    let mut config = args.resolve()?;
    config.log_control = Some(log_control);
    // The probe is this very binary. /proc/self/exe (what `std::env::current_exe` reads) is
    // exec'd as is: it is the running image even after an upgrade replaced or removed the
    // file at its path, so host and probe always run the same code. A recycle's successor
    // runs it too, unless it is given another binary.
    config.artifacts.probe_binary = Some(PathBuf::from("/proc/self/exe"));
    config.relaunch = Some(recycle::Relaunch {
        binary: PathBuf::from("/proc/self/exe"),
        args: std::env::args_os().skip(1).collect(),
    });
    let pid_file = config.pid_file.clone();
    let host = crate::start_with(config, inherited).await?;
    Ok((host, pid_file))
}

/// The successor's side before it starts: connect to the handover socket and receive the
/// listening sockets and the state directory's lock.
async fn take_over(
    path: &std::path::Path,
) -> anyhow::Result<(recycle::Inherited, recycle::handover::Steps)> {
    let path = path.to_owned();
    let received = tokio::task::spawn_blocking(move || {
        recycle::handover::receive_descriptors(&path, std::time::Duration::from_secs(30))
            .with_context(|| format!("cannot take over through {}", path.display()))
    })
    .await
    .context("the handover task panicked")??;
    let (inherited, stream) = received;
    let steps = recycle::handover::Steps::new(stream).context("cannot use the handover socket")?;
    Ok((inherited, steps))
}

fn write_pid_file(path: Option<&std::path::Path>) {
    if let Some(path) = path
        && let Err(error) = recycle::pid_file::write(path, std::process::id())
    {
        // Serving matters more than the file; supervisors reading it see the old pid.
        tracing::error!(%error, "cannot write the PID file");
    }
}

/// Serves until SIGTERM or SIGINT (`None`) or until a recycle handed over (the successor's
/// pid). SIGUSR2 starts a recycle, as nginx's binary upgrade does.
async fn wait_for_stop(host: &crate::RunningHost) -> anyhow::Result<Option<u32>> {
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut user2 = signal(SignalKind::user_defined2()).context("cannot listen for SIGUSR2")?;
    loop {
        tokio::select! {
            _ = terminate.recv() => return Ok(None),
            _ = interrupt.recv() => return Ok(None),
            successor = host.recycler.handed_over() => return Ok(Some(successor)),
            _ = user2.recv() => {
                let recycler = host.recycler.clone();
                tokio::spawn(async move {
                    // The outcome is logged, counted and shown by the recycler.
                    if let Err(error) = recycler.recycle(recycle::Trigger::Signal, None).await {
                        tracing::warn!(%error, "SIGUSR2: no recycle");
                    }
                });
            }
        }
    }
}
