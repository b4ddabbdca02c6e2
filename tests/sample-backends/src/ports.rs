//! Where a fixed [`crate::SampleConfig::base_port`] is safe to put: below the kernel's
//! ephemeral range.

/// The first port Linux hands out to outgoing connections (`net.ipv4.ip_local_port_range`;
/// 32768, its default, when it cannot be read).
///
/// A listener on a port at or above it can be refused: the port may be the local end of a
/// client connection, or sit in `TIME_WAIT` after one. Servers that need the same port
/// every time (a fixed base port, a server a test stops and starts again) take theirs from
/// below.
pub fn ephemeral_port_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}
