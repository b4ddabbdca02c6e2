//! The `sample-backends` binary: serves the sample services until SIGINT or SIGTERM.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use frontdoor_sample_backends::{SampleConfig, Service};
use tokio::signal::unix::{SignalKind, signal};

/// Fake backend microservices on 127.0.0.1 with faults switchable over a control API.
#[derive(Debug, Parser)]
#[command(name = "sample-backends", version)]
struct Cli {
    /// The control server's port; the services take the next five.
    #[arg(long, default_value_t = 9000)]
    base_port: u16,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")
        .and_then(|runtime| runtime.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sample-backends: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // Listen for signals before announcing, so a supervisor's early SIGTERM is not lost.
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let backends = frontdoor_sample_backends::start(SampleConfig {
        base_port: Some(cli.base_port),
    })
    .await?;
    for service in Service::ALL {
        println!("{:<16} {}", service.name(), backends.url(service));
    }
    println!("{:<16} {}", "control", backends.control_url());
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    backends.shutdown().await;
    Ok(())
}
