//! The `frontdoor` command line: parse, set up logging, serve until SIGINT or SIGTERM.
//!
//! Lives in the library so the integration tests can build the very same binary.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};

use crate::{
    config::ServeArgs,
    logging::{LogControl, LogFormat},
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
        // No runtime: a probe only opens a library and calls its entry points.
        Command::ProbeArtifact { parent_pid, copy } => {
            init_probe_logging();
            crate::loader::run_probe_child(&copy, parent_pid)
        }
    };
    let log_control = init_logging(args.log_format);
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
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
    let mut config = args.resolve()?;
    config.log_control = Some(log_control);
    // The probe is this very binary. /proc/self/exe (what `std::env::current_exe` reads) is
    // exec'd as is: it is the running image even after an upgrade replaced or removed the
    // file at its path, so host and probe always run the same code.
    config.artifacts.probe_binary = Some(PathBuf::from("/proc/self/exe"));
    let host = crate::start(config).await?;
    wait_for_stop_signal().await?;
    tracing::info!("stop signal received; finishing in-flight requests");
    host.shutdown().await;
    Ok(())
}

async fn wait_for_stop_signal() -> anyhow::Result<()> {
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    Ok(())
}
