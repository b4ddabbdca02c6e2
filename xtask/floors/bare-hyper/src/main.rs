//! The bare-hyper reference: a minimal hyper 1.x server on a tokio multi-thread runtime
//! with the W1/W2 handlers compiled in, nothing else on the request path. The floor under
//! every Frontdoor figure; `cargo xtask bench` runs it beside the host (README, "Benchmarks").
//!
//! Env: PORT (default 18080), WORKERS = tokio worker_threads (default 1).

use std::convert::Infallible;
use std::sync::OnceLock;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpListener;

const N_TITLES: usize = 200;
const MATURITY: [&str; 5] = ["G", "PG", "PG-13", "R", "TV-MA"];
const GENRES: [&str; 8] = [
    "Action", "Comedy", "Drama", "Horror", "Documentary", "Thriller", "Romance", "Sci-Fi",
];
const ROW_NAMES: [&str; 4] = ["Continue Watching", "Trending Now", "Top Picks for You", "New Releases"];

/// One catalog entry. maturity/genres/runtime_min are part of the catalog but
/// are dropped when a title is reduced to a row item.
#[allow(dead_code)]
struct Title {
    id: u32,
    title: String,
    year: u32,
    maturity: &'static str,
    genres: Vec<&'static str>,
    runtime_min: u32,
    boxart: String,
}

static CATALOG: OnceLock<Vec<Title>> = OnceLock::new();

fn build_catalog() -> Vec<Title> {
    (0..N_TITLES as u32)
        .map(|i| {
            let id = 80_000_000 + i;
            let n_genres = 2 + (i % 2) as usize;
            Title {
                id,
                title: format!("Title {i}"),
                year: 1970 + (i * 7) % 54,
                maturity: MATURITY[(i % 5) as usize],
                genres: (0..n_genres).map(|k| GENRES[((i as usize) * 3 + k * 5) % 8]).collect(),
                runtime_min: 80 + (i * 13) % 70,
                boxart: format!("https://img.example.test/boxart/w342/{id}.jpg"),
            }
        })
        .collect()
}

#[derive(Serialize)]
struct Item<'a> {
    id: u32,
    title: &'a str,
    year: u32,
    boxart: &'a str,
}

#[derive(Serialize)]
struct Row<'a> {
    name: &'static str,
    items: [Item<'a>; 10],
}

#[derive(Serialize)]
struct Home<'a> {
    profile: u32,
    rows: [Row<'a>; 4],
}

/// W2: compose and serialize the home document for profile `n` (per request).
fn home(n: u32) -> Bytes {
    let cat = CATALOG.get().expect("catalog");
    let doc = Home {
        profile: n,
        rows: std::array::from_fn(|r| Row {
            name: ROW_NAMES[r],
            items: std::array::from_fn(|j| {
                let t = &cat[((n as usize) * 31 + r * 17 + j * 7) % N_TITLES];
                Item { id: t.id, title: &t.title, year: t.year, boxart: &t.boxart }
            }),
        }),
    };
    let mut buf = Vec::with_capacity(6 * 1024);
    serde_json::to_writer(&mut buf, &doc).expect("serialize");
    Bytes::from(buf)
}

/// `profile` must be present and match ^[0-9]{1,3}$ (so 0..=999).
fn parse_profile(query: Option<&str>) -> Option<u32> {
    let q = query?;
    for pair in q.split('&') {
        if let Some(v) = pair.strip_prefix("profile=") {
            if v.is_empty() || v.len() > 3 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            return v.parse().ok();
        }
    }
    None
}

fn json(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let uri = req.uri();
    Ok(match uri.path() {
        "/bench/hello" => json(StatusCode::OK, Bytes::from_static(b"{\"ok\":true}")),
        "/bench/home" => match parse_profile(uri.query()) {
            Some(n) => json(StatusCode::OK, home(n)),
            None => json(StatusCode::BAD_REQUEST, Bytes::from_static(b"{\"error\":\"bad profile\"}")),
        },
        _ => json(StatusCode::NOT_FOUND, Bytes::from_static(b"{\"error\":\"not found\"}")),
    })
}

async fn serve(port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("bare-hyper listening on 127.0.0.1:{port}");
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept error: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let io = TokioIo::new(stream);
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(io, service_fn(handle))
                .await;
        });
    }
}

fn main() {
    let port: u16 = std::env::var("PORT").ok().and_then(|v| v.parse().ok()).unwrap_or(18080);
    let workers: usize = std::env::var("WORKERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    CATALOG.get_or_init(build_catalog);
    eprintln!("bare-hyper: tokio multi_thread runtime, worker_threads={workers}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime");
    // Run the accept loop as a task so it executes on a runtime worker thread.
    rt.block_on(async move {
        tokio::spawn(serve(port)).await.expect("join").expect("serve");
    });
}
