//! The `frontdoor` command line.

use clap::{Parser, Subcommand};

use crate::config::ServeArgs;

#[derive(Debug, Parser)]
#[command(name = "frontdoor", version, about = "Serve device adapters loaded from a watched plugins directory")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load the plugins directory and serve devices and the admin API.
    Serve(ServeArgs),
}
