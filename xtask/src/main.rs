//! `cargo xtask`: project automation that needs no tool beyond cargo.
//!
//! Each subcommand lives in its own module; this file only parses the command line and
//! turns the outcome into an exit code.

mod bench;
mod build_plugin;
mod cargo;
mod child;
mod demo;
mod dev;
mod fleet;
mod host;
mod http;
mod new_plugin;
mod rustc_wrapper;
mod sample_backends;
mod system_tools;
mod workspace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "xtask",
    bin_name = "cargo xtask",
    about = "Frontdoor project automation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the benchmark workloads against a release build and report against the static baseline.
    ///
    /// W1 hello and W2 home: the `bench` adapter against the same code compiled into the host,
    /// with the host's CPU time per request. W3 fan-out: /bench/fanout, 10 parallel calls to a
    /// sample backend answering after 5 ms, against that 5 ms ideal (wrk -c8, so the backend
    /// is not saturated). R1: reload under load. Then the cost of a shared-module call
    /// (host/benches/module_call.rs against a release build of `artwork`) on the host's core.
    /// Prints a table and writes target/bench/latest.json; fails when a request or a W3
    /// backend call failed, never on timing.
    Bench(bench::Args),
    /// Build plugin cdylibs and install them atomically into the plugins directory.
    BuildPlugin(build_plugin::Args),
    /// Build every plugin and the host, start the host and print requests to try.
    Demo(demo::Args),
    /// Watch an adapter's sources; on every change rebuild it, install it as a new version
    /// into a running host (started with the sample backends if none runs) and print its
    /// first answer or the reason the host refused it.
    Dev(dev::Args),
    /// Scaffold an adapter (or with --shared-module a shared module) that builds and answers,
    /// in this workspace or, with --dir, as a standalone crate anywhere.
    NewPlugin(new_plugin::Args),
    /// Build a plugin, sign it with a team's key and publish it to the fleet through
    /// `frontdoor fleet publish` (the artifact to the store, its record to etcd).
    Publish(fleet::publish::Args),
    /// Sign an artifact for fleet mode with a team's minisign key: writes ARTIFACT.minisig.
    Sign(fleet::sign::Args),
    /// Make a team's minisign key pair (TEAM.key, TEAM.pub) and print the `[fleet.keys]` line.
    SigningKey(fleet::signing_key::Args),
}

fn main() -> ExitCode {
    if let Some(code) = rustc_wrapper::run_if_wrapper() {
        return code;
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bench(args) => bench::run(&args),
        Command::BuildPlugin(args) => build_plugin::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Demo(args) => demo::run(&args),
        Command::Dev(args) => dev::run(&args),
        Command::NewPlugin(args) => new_plugin::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Publish(args) => fleet::publish::run(&args),
        Command::Sign(args) => fleet::sign::run(&args).map(|()| ExitCode::SUCCESS),
        Command::SigningKey(args) => fleet::signing_key::run(&args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}
