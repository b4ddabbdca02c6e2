//! The sample backends over real sockets on 127.0.0.1: endpoints, faults, stats, the
//! control server, shutdown and the binary. One test binary; a module per area.

mod support;

mod binary;
mod control;
mod endpoints;
mod faults;
mod lifecycle;
mod stats;
