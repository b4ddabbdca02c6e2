use std::os::fd::AsFd as _;

use super::*;

#[tokio::test]
async fn descriptors_and_steps_cross_the_channel() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("handover.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    let device = std::net::TcpListener::bind("127.0.0.1:0").expect("device");
    let admin = std::net::TcpListener::bind("127.0.0.1:0").expect("admin");
    let lock = File::create(dir.path().join("lock")).expect("lock");
    let receiver = std::thread::spawn({
        let path = path.clone();
        move || receive_descriptors(&path, Duration::from_secs(30))
    });
    let (stream, _) = listener.accept().expect("accept");
    send_descriptors(
        &stream,
        &Hello { parent_pid: 7 },
        [device.as_fd(), admin.as_fd(), lock.as_fd()],
    )
    .expect("send");
    let (inherited, child_end) = receiver.join().expect("thread").expect("receive");
    assert_eq!(inherited.parent_pid, 7);
    // The very same sockets: same addresses.
    assert_eq!(
        inherited.device.local_addr().expect("addr"),
        device.local_addr().expect("addr")
    );
    assert_eq!(
        inherited.admin.local_addr().expect("addr"),
        admin.local_addr().expect("addr")
    );

    let mut host = Steps::new(stream).expect("host steps");
    let mut successor = Steps::new(child_end).expect("successor steps");
    successor
        .send(&Step::Ready { pid: 9 })
        .await
        .expect("ready");
    assert_eq!(host.receive().await.expect("step"), Step::Ready { pid: 9 });
    host.send(&Step::Go).await.expect("go");
    assert_eq!(successor.receive().await.expect("step"), Step::Go);
    drop(host);
    let closed = successor.receive().await.expect_err("closed");
    assert_eq!(closed.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn a_socket_that_is_not_listening_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("handover.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
    let bound_only = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let admin = std::net::TcpListener::bind("127.0.0.1:0").expect("admin");
    let lock = File::create(dir.path().join("lock")).expect("lock");
    let receiver = std::thread::spawn({
        let path = path.clone();
        move || receive_descriptors(&path, Duration::from_secs(30))
    });
    let (stream, _) = listener.accept().expect("accept");
    send_descriptors(
        &stream,
        &Hello { parent_pid: 7 },
        [bound_only.as_fd(), admin.as_fd(), lock.as_fd()],
    )
    .expect("send");
    let error = receiver.join().expect("thread").expect_err("refused");
    assert!(error.to_string().contains("device"), "{error}");
}
