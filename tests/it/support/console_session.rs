//! A console session over plain HTTP: log in with a token (or none, on a host without
//! tokens) and read pages with the session cookie.

use hyper::Method;

use super::http::{Reply, send};

/// Logs in at `login_url` (`.../console/login`): the session cookie (`name=value`, empty
/// when refused) and the login's answer.
pub async fn login(login_url: &str, token: &str) -> (String, Reply) {
    let reply = send(
        Method::POST,
        login_url,
        &[("content-type", "application/x-www-form-urlencoded")],
        format!("token={token}").into_bytes(),
    )
    .await;
    let cookie = reply
        .header("set-cookie")
        .and_then(|value| value.split(';').next())
        .unwrap_or_default()
        .to_owned();
    (cookie, reply)
}

/// A console page at `url`, asked with the session `cookie`.
pub async fn page(url: &str, cookie: &str) -> Reply {
    send(Method::GET, url, &[("cookie", cookie)], Vec::new()).await
}

/// A page's HTML.
pub fn text(reply: &Reply) -> String {
    String::from_utf8_lossy(&reply.body).into_owned()
}
