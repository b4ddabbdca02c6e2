//! How many connections wait in a listening socket's accept queue, as the kernel reports
//! it: for a socket in state LISTEN, `/proc/net/tcp{,6}` shows the accept queue's length
//! in the `rx_queue` column. The socket is found by inode, so nothing else on the same port
//! is mistaken for it.

use std::os::fd::AsRawFd;

/// The inode of the socket behind `socket`, from `/proc/self/fd` (Linux).
pub fn socket_inode(socket: &impl AsRawFd) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", socket.as_raw_fd())).ok()?;
    let link = link.to_str()?;
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The accept queue length of the listening socket with `inode`; `None` when the kernel
/// does not say (not Linux, socket gone).
pub fn length(inode: u64) -> Option<u64> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .find_map(|table| find(&table, inode))
}

/// The `rx_queue` of the LISTEN row with `inode` in one `/proc/net/tcp*` table.
fn find(table: &str, inode: u64) -> Option<u64> {
    const LISTEN: &str = "0A";
    table.lines().skip(1).find_map(|row| {
        // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
        let fields: Vec<&str> = row.split_whitespace().collect();
        let (state, queues, row_inode) = (fields.get(3)?, fields.get(4)?, fields.get(9)?);
        if *state != LISTEN || row_inode.parse::<u64>().ok()? != inode {
            return None;
        }
        let (_tx, rx) = queues.split_once(':')?;
        u64::from_str_radix(rx, 16).ok()
    })
}

#[cfg(test)]
mod tests;
