//! A backend the test holds shut: each call to it is answered only once the test opens the
//! gate, and the test hears of each call as it arrives. A route that calls it parks its
//! request mid-handler for exactly as long as the test wants, with no clock involved.

use std::time::Duration;

use frontdoor::backends::BackendConfig;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    sync::{mpsc, watch},
};

pub struct Gate {
    url: String,
    arrivals: mpsc::UnboundedReceiver<()>,
    open: watch::Sender<bool>,
}

impl Gate {
    /// A shut gate listening on 127.0.0.1.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind gate");
        let url = format!("http://{}", listener.local_addr().expect("gate address"));
        let (arrived, arrivals) = mpsc::unbounded_channel();
        let (open, opened) = watch::channel(false);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let arrived = arrived.clone();
                let mut opened = opened.clone();
                tokio::spawn(async move {
                    if !read_head(&mut stream).await {
                        return;
                    }
                    let _ = arrived.send(());
                    if opened.wait_for(|open| *open).await.is_err() {
                        return;
                    }
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                              content-length: 2\r\nconnection: close\r\n\r\n{}",
                        )
                        .await;
                });
            }
        });
        Self {
            url,
            arrivals,
            open,
        }
    }

    /// The host's configuration of backend `gate`: the gate, with room to stay shut for as
    /// long as any test step takes (its timeout bounds a broken test, it times nothing).
    pub fn backend(&self) -> BackendConfig {
        let mut config = BackendConfig::new("gate", self.url.clone());
        config.timeout = Duration::from_secs(120);
        config
    }

    /// Waits until a call reaches the gate: its request is now parked there.
    pub async fn arrival(&mut self) {
        tokio::time::timeout(Duration::from_secs(60), self.arrivals.recv())
            .await
            .expect("a request reaches the gate within a minute")
            .expect("the gate is listening");
    }

    /// Lets every parked call through, and every later one.
    pub fn open(&self) {
        let _ = self.open.send(true);
    }
}

/// Reads an HTTP request head (the gate's callers send GETs without a body).
async fn read_head(stream: &mut tokio::net::TcpStream) -> bool {
    let mut head = Vec::new();
    let mut buffer = [0_u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return false,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    true
}
