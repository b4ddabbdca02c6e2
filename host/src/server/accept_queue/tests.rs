//! The accept queue as the kernel reports it, against real sockets.

use super::*;

#[test]
fn parses_the_listen_row_of_a_proc_table() {
    let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n\
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 4243 1 0000000000000000 20 4 30 10 -1\n";
    assert_eq!(find(table, 4242), Some(3));
    assert_eq!(find(table, 4243), None, "not a listening socket");
    assert_eq!(find(table, 1), None);
}

/// Polls until the kernel reports `expected` (the last handshake step is processed
/// asynchronously on loopback); bounded.
fn wait_for_length(inode: u64, expected: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let seen = length(inode);
        if seen == Some(expected) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "accept queue never reached {expected}; last {seen:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn counts_connections_the_kernel_completed_and_nobody_accepted() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let inode = socket_inode(&listener).expect("a socket inode");
    assert_eq!(length(inode), Some(0));
    let addr = listener.local_addr().expect("addr");
    let clients: Vec<_> = (0..2)
        .map(|_| std::net::TcpStream::connect(addr).expect("connect"))
        .collect();
    wait_for_length(inode, 2);
    let (_accepted, _) = listener.accept().expect("accept");
    wait_for_length(inode, 1);
    drop(clients);
}
