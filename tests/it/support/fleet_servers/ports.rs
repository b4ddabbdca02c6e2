//! Free loopback ports for servers the tests start and restart.
//!
//! The ports come from below the kernel's ephemeral range, not from binding port 0: a
//! server stopped by a test must get its port back when it is started again, and a port of
//! the ephemeral range may meanwhile be taken as the local end of some outgoing connection.
//! Within this test binary no port is handed out twice; a port another process listens on
//! is skipped (a bind to it fails), and a race with one is caught when the server's start
//! fails with "address already in use" (the callers then start over on new ports).

use std::{
    collections::HashSet,
    net::TcpListener,
    sync::{
        Mutex,
        atomic::{AtomicU32, Ordering},
    },
};

/// Lowest port handed out (above the ports the demo and the benches use by default).
const LOWEST: u16 = 20_000;

/// Ports handed out by this process so far.
static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
/// Moves the search on between calls.
static CURSOR: AtomicU32 = AtomicU32::new(0);

/// A loopback port nobody listens on and that this process has not handed out before.
pub fn free_port() -> u16 {
    let end = frontdoor_sample_backends::ephemeral_port_start().max(LOWEST + 1_000);
    let span = u32::from(end - LOWEST);
    // Parallel test binaries (other checkouts on the same machine) start at different places.
    let seed = std::process::id().wrapping_mul(7_919);
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|p| p.into_inner());
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    for _ in 0..span {
        let step = CURSOR.fetch_add(1, Ordering::Relaxed);
        // A stride coprime with most spans spreads consecutive picks apart.
        let port = LOWEST + (seed.wrapping_add(step.wrapping_mul(97)) % span) as u16;
        if handed_out.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            handed_out.insert(port);
            return port;
        }
    }
    panic!("no free loopback port between {LOWEST} and {end}");
}
