//! Watching the host take a new version: `/admin/plugins` polled until the version is
//! serving or its file is refused, then the version's first answer.

use std::{
    net::SocketAddr,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use cargo_metadata::semver::Version;
use serde_json::Value;

use super::DevHost;
use crate::http;

/// Between two polls of the admin API.
const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// One request to the host.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the host made of a new artifact.
#[derive(Debug)]
pub enum Verdict {
    /// Loaded and routable (`active` or `standby`); its GET routes without parameters.
    Live {
        kind: String,
        plain_gets: Vec<String>,
    },
    /// Refused, with the host's reason.
    Refused(String),
}

/// Polls `host`'s admin API until `name@version` (from `file_name`) is live or refused, or
/// `timeout`.
pub fn wait(
    host: &DevHost,
    name: &str,
    version: &Version,
    file_name: &str,
    timeout: Duration,
) -> anyhow::Result<Verdict> {
    let deadline = Instant::now() + timeout;
    let version = version.to_string();
    loop {
        let response = host
            .admin_get("/admin/plugins", REQUEST_TIMEOUT)
            .with_context(|| format!("GET http://{}/admin/plugins failed", host.admin))?;
        if response.status != 200 {
            bail!(
                "GET http://{}/admin/plugins answered {} (a host with admin tokens needs FRONTDOOR_TOKEN)",
                host.admin,
                response.status
            );
        }
        let plugins: Value =
            serde_json::from_slice(&response.body).context("/admin/plugins did not answer JSON")?;
        if let Some(verdict) = verdict(&plugins, name, &version, file_name) {
            return Ok(verdict);
        }
        if Instant::now() >= deadline {
            bail!(
                "{name}@{version} was neither live nor refused within {} s of installing {file_name}",
                timeout.as_secs()
            );
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// What `/admin/plugins` says about `name@version`, once it says something final.
pub fn verdict(plugins: &Value, name: &str, version: &str, file_name: &str) -> Option<Verdict> {
    let failed = plugins["failed"].as_array().into_iter().flatten();
    for failure in failed {
        if failure["file"] == file_name {
            let reason = failure["reason"].as_str().unwrap_or("no reason given");
            return Some(Verdict::Refused(reason.to_owned()));
        }
    }
    let plugin = plugins["plugins"]
        .as_array()?
        .iter()
        .find(|plugin| plugin["name"] == name)?;
    let entry = plugin["versions"]
        .as_array()?
        .iter()
        .find(|entry| entry["version"] == version)?;
    match entry["state"].as_str()? {
        "active" | "standby" => {
            let plain_gets = entry["routes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|route| route["method"] == "GET")
                .filter_map(|route| route["path"].as_str())
                .filter(|path| !path.contains('{'))
                .map(str::to_owned)
                .collect();
            Some(Verdict::Live {
                kind: plugin["kind"].as_str().unwrap_or_default().to_owned(),
                plain_gets,
            })
        }
        "failed" => Some(Verdict::Refused(
            entry["reason"]
                .as_str()
                .unwrap_or("no reason given")
                .to_owned(),
        )),
        _ => None,
    }
}

/// `GET /{name}{path}` from exactly `version` (`x-frontdoor-version: =V`).
pub fn first_answer(
    listen: SocketAddr,
    name: &str,
    version: &Version,
    path: &str,
) -> anyhow::Result<http::Response> {
    let target = format!("/{name}{path}");
    let requirement = format!("={version}");
    http::get_with_headers(
        listen,
        &target,
        &[("x-frontdoor-version", &requirement)],
        REQUEST_TIMEOUT,
    )
    .with_context(|| format!("GET http://{listen}{target} failed"))
}

#[cfg(test)]
mod tests;
