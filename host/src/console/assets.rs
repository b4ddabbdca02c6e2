//! The console's stylesheet and script, compiled into the binary and served under names
//! that carry a hash of their content, so browsers may cache them for good (a new build
//! with other bytes has other names). No CDN, no build step.

use std::sync::LazyLock;

use bytes::Bytes;
use hyper::{
    Response, StatusCode,
    header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, X_CONTENT_TYPE_OPTIONS},
};
use sha2::{Digest as _, Sha256};

use crate::error_response::{Body, EdgeError};

const CSS: &[u8] = include_bytes!("assets/console.css");
const JS: &[u8] = include_bytes!("assets/console.js");

static CSS_PATH: LazyLock<String> = LazyLock::new(|| hashed("console", CSS, "css"));
static JS_PATH: LazyLock<String> = LazyLock::new(|| hashed("console", JS, "js"));

/// Where the stylesheet is served.
pub fn css_path() -> &'static str {
    &CSS_PATH
}

/// Where the script is served.
pub fn js_path() -> &'static str {
    &JS_PATH
}

/// The asset at `path`, or a 404.
pub fn serve(path: &str) -> Response<Body> {
    let (bytes, content_type) = if path == css_path() {
        (CSS, "text/css; charset=utf-8")
    } else if path == js_path() {
        (JS, "text/javascript; charset=utf-8")
    } else {
        return EdgeError::not_found(format!("no console asset {path}")).into_response();
    };
    let mut response = Response::new(Body::new(Bytes::from_static(bytes)));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `/console/assets/{stem}-{first 16 hex digits of SHA-256}.{extension}`.
fn hashed(stem: &str, bytes: &[u8], extension: &str) -> String {
    let digest = Sha256::digest(bytes);
    let short: String = digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("/console/assets/{stem}-{short}.{extension}")
}
