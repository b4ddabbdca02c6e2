//! The `sample-backends` binary: announces its URLs, serves, and exits cleanly on SIGTERM.

use std::{
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::TcpStream,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use crate::support::{SAFETY, fixed_base_ports};

/// Starts the binary on `base`; `None` when it exits early (the port was taken).
fn launch(base: u16) -> Option<(Child, Vec<String>)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sample-backends"))
        .args(["--base-port", &base.to_string()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines_tx, lines_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    while lines.len() < 6 {
        match lines_rx.recv_timeout(SAFETY) {
            Ok(line) => lines.push(line),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    Some((child, lines))
}

/// `GET path` over a raw connection; returns the whole response.
fn raw_get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(SAFETY)).expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    response
}

#[test]
fn announces_serves_and_stops_on_sigterm() {
    let (mut child, lines, base) = fixed_base_ports(1)
        .find_map(|base| launch(base).map(|(child, lines)| (child, lines, base)))
        .expect("some base port is free");
    assert_eq!(
        lines,
        [
            format!("catalog          http://127.0.0.1:{}", base + 1),
            format!("profiles         http://127.0.0.1:{}", base + 2),
            format!("recommendations  http://127.0.0.1:{}", base + 3),
            format!("bookmarks        http://127.0.0.1:{}", base + 4),
            format!("playback         http://127.0.0.1:{}", base + 5),
            format!("control          http://127.0.0.1:{base}"),
        ]
    );
    let health = raw_get(base + 1, "/health");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        health.ends_with(r#"{"ok":true,"service":"catalog"}"#),
        "{health}"
    );
    let services = raw_get(base, "/services");
    assert!(services.contains(&format!("\"playback\":\"127.0.0.1:{}\"", base + 5)));

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let mut waited = Duration::ZERO;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(waited < SAFETY, "the binary ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
        waited += Duration::from_millis(20);
    };
    assert!(status.success(), "{status}");
}
