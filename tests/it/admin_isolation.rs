//! The admin API keeps answering when device traffic has every device worker blocked: it
//! runs on its own thread and runtime. The test host runs its device listener on this
//! test's runtime, which has a single worker; a handler blocks that worker in a read on a
//! socket the test owns until the test releases it. The test itself talks to the admin API
//! from plain threads, since this runtime cannot drive any I/O while its worker is held.

use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpListener, TcpStream},
    time::{Duration, Instant},
};

use crate::support::{Fixture, TestHost, get};

const PATIENCE: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_admin_api_answers_while_every_device_worker_is_blocked() {
    let host = TestHost::with(&[Fixture::Misbehaver("1.0.0")]).await;
    let barrier = TcpListener::bind("127.0.0.1:0").expect("bind barrier");
    let barrier_port = barrier.local_addr().expect("barrier address").port();
    let blocked_url = host.url(&format!("/misbehaver/block?port={barrier_port}"));
    let blocked = tokio::spawn(async move { get(&blocked_url).await });

    // The handler has connected: the runtime's only worker is now stuck in its read.
    let mut held = accept_within(&barrier);
    let admin = host.host.admin_addr;
    let (status, health) = std::thread::spawn(move || admin_get(admin, "/admin/health"))
        .join()
        .expect("admin client thread");
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok");
    let (status, plugins) = std::thread::spawn(move || admin_get(admin, "/admin/plugins"))
        .join()
        .expect("admin client thread");
    assert_eq!(status, 200);
    assert_eq!(
        plugins["plugins"][0]["versions"][0]["in_flight"], 1,
        "the blocking request is still in its handler: {plugins:#}"
    );

    held.write_all(b"go").expect("release the handler");
    let released = blocked.await.expect("blocked request task");
    assert_eq!(released.status, 200);
    assert_eq!(released.json()["released"], true);
    host.stop().await;
}

/// Accepts one connection, giving up after [`PATIENCE`].
fn accept_within(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).expect("nonblocking");
    let deadline = Instant::now() + PATIENCE;
    loop {
        match listener.accept() {
            Ok((stream, _)) => return stream,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(
                    Instant::now() < deadline,
                    "the blocking handler never connected"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(error) => panic!("accept at the barrier: {error}"),
        }
    }
}

/// `GET path` on the admin listener with blocking I/O, bounded by [`PATIENCE`].
fn admin_get(addr: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let mut stream = TcpStream::connect_timeout(&addr, PATIENCE).expect("connect to admin");
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("read timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: admin\r\nconnection: close\r\n\r\n"
    )
    .expect("send to admin");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .expect("the admin API answers while device workers are blocked");
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code");
    let json = serde_json::from_str(body).unwrap_or_else(|error| panic!("{error}: {body}"));
    (status, json)
}
