//! The `frontdoor` command line: parse, set up logging, serve until SIGINT or SIGTERM.
//!
//! Lives in the library so the integration tests can build the very same binary.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};

use crate::config::ServeArgs;

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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = match cli.command {
        Command::Serve(args) => args,
        // No runtime: a probe only opens a library and calls its entry points.
        Command::ProbeArtifact { parent_pid, copy } => {
            crate::loader::run_probe_child(&copy, parent_pid)
        }
    };
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")
        .and_then(|runtime| runtime.block_on(serve(*args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("frontdoor: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = args.resolve()?;
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
