//! The Frontdoor host: loads adapters and shared modules from a watched directory as
//! cdylibs through a stable ABI, routes device requests to them over HTTP, and reports on
//! them through an admin API.
//!
//! `main.rs` only parses the command line; everything here is usable from tests.

pub mod admin;
mod allocator;
pub mod backends;
pub mod baseline;
pub mod cli;
pub mod config;
pub mod console;
pub mod containment;
pub mod control;
pub mod deploy;
pub mod dispatch;
pub mod error_response;
pub mod fleet;
mod header_scan;
pub mod loader;
pub mod logging;
pub mod metrics;
pub mod otel;
pub mod recycle;
pub mod registry;
pub mod requests;
mod response_head;
pub mod router;
pub mod server;
pub mod traffic;

pub use config::HostConfig;
pub use server::{RunningHost, start, start_with};
