//! Frontdoor's integration tests: real cdylibs built by cargo, a real host on 127.0.0.1,
//! real HTTP. One test binary; a module per area.

mod support;

mod adaptive_concurrency;
mod admin;
mod admin_isolation;
mod allocator;
mod artifact_files;
mod authoring;
mod backends;
mod bad_artifacts;
mod binary;
mod bundles;
mod console;
mod containment;
mod control;
mod crash_marker;
mod dedup;
mod fleet;
mod fleet_cli;
mod fleet_hosts;
mod fleet_signed;
mod hedging;
mod hot_reload;
mod init;
mod listener;
mod load_containment;
mod log_level;
mod metrics;
mod recycle;
mod requests;
mod serving;
mod shared_calls;
mod shared_modules;
mod swap_under_load;
mod traces;
mod traffic;
mod warmup;
mod workloads;
