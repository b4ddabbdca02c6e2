//! `[fleet]`: where a host finds the fleet's desired state (etcd), its artifacts (an
//! S3-compatible bucket) and the keys that vouch for them.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use serde::Deserialize;

use super::signature::Trust;

/// A fleet host's settings, resolved and checked.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// This host's name in the fleet's report (`hosts/{host_id}`).
    pub host_id: String,
    /// etcd client URLs (`http://127.0.0.1:2379`); requests go to any that answers.
    pub etcd: Vec<String>,
    /// Every key this fleet uses starts with it (`/frontdoor`).
    pub prefix: String,
    /// A host that stops renewing its report disappears from it after this long.
    pub lease_ttl: Duration,
    /// Longest pause between attempts to reach etcd or the store again.
    pub max_backoff: Duration,
    /// Each etcd or store request gives up after this long.
    pub request_timeout: Duration,
    pub store: StoreConfig,
    /// Team keys and owners: what artifacts the host trusts.
    pub trust: Arc<Trust>,
}

/// The S3-compatible bucket holding artifacts.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// The `[fleet]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetFileConfig {
    host_id: Option<String>,
    #[serde(default)]
    etcd: Vec<String>,
    prefix: Option<String>,
    lease_ttl_secs: Option<u64>,
    max_backoff_ms: Option<u64>,
    request_timeout_ms: Option<u64>,
    store: Option<StoreFileConfig>,
    #[serde(default)]
    keys: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFileConfig {
    endpoint: Option<String>,
    bucket: Option<String>,
    region: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
}

/// Environment variables for the store's credentials, so they need not sit in the file.
const ACCESS_KEY_ENV: &str = "FRONTDOOR_S3_ACCESS_KEY_ID";
const SECRET_KEY_ENV: &str = "FRONTDOOR_S3_SECRET_ACCESS_KEY";

impl FleetFileConfig {
    /// The checked settings, or an error naming the key. `owners` is
    /// `[admin_auth.owners]`: who may sign what.
    pub fn resolve(
        self,
        owners: &BTreeMap<String, String>,
        admin_port: u16,
    ) -> Result<FleetConfig, String> {
        if self.etcd.is_empty() {
            return Err(
                "fleet.etcd: at least one etcd endpoint (http://HOST:PORT) is needed".into(),
            );
        }
        for endpoint in &self.etcd {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return Err(format!("fleet.etcd: {endpoint:?} is not an http:// URL"));
            }
        }
        let prefix = self.prefix.unwrap_or_else(|| "/frontdoor".into());
        if !prefix.starts_with('/') || prefix.ends_with('/') || prefix.len() < 2 {
            return Err(format!(
                "fleet.prefix = {prefix:?}: must start with / and not end with one (/frontdoor)"
            ));
        }
        let host_id = self.host_id.unwrap_or_else(|| default_host_id(admin_port));
        if host_id.is_empty() || host_id.contains('/') || host_id.chars().any(char::is_whitespace) {
            return Err(format!(
                "fleet.host_id = {host_id:?}: must be non-empty, without / or spaces"
            ));
        }
        let lease_ttl = self.lease_ttl_secs.unwrap_or(10);
        if !(2..=3600).contains(&lease_ttl) {
            return Err(format!(
                "fleet.lease_ttl_secs = {lease_ttl}: must be 2 to 3600"
            ));
        }
        let store = self
            .store
            .ok_or("fleet.store: the artifact bucket is required")?;
        let required = |value: Option<String>, key: &str| {
            value
                .filter(|value| !value.is_empty())
                .ok_or_else(|| format!("fleet.store.{key} is required"))
        };
        let endpoint = required(store.endpoint, "endpoint")?;
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(format!(
                "fleet.store.endpoint: {endpoint:?} is not an http:// URL"
            ));
        }
        let store = StoreConfig {
            endpoint,
            bucket: required(store.bucket, "bucket")?,
            region: store.region.unwrap_or_else(|| "us-east-1".into()),
            access_key_id: store
                .access_key_id
                .or_else(|| std::env::var(ACCESS_KEY_ENV).ok())
                .unwrap_or_else(|| "frontdoor".into()),
            secret_access_key: store
                .secret_access_key
                .or_else(|| std::env::var(SECRET_KEY_ENV).ok())
                .unwrap_or_else(|| "frontdoor".into()),
        };
        if self.keys.is_empty() {
            return Err(
                "fleet.keys: no team key; a fleet host loads only artifacts signed by its owners' keys"
                    .into(),
            );
        }
        let trust = Trust::new(&self.keys, owners.clone())?;
        Ok(FleetConfig {
            host_id,
            etcd: self.etcd,
            prefix,
            lease_ttl: Duration::from_secs(lease_ttl),
            max_backoff: Duration::from_millis(self.max_backoff_ms.unwrap_or(5_000).max(10)),
            request_timeout: Duration::from_millis(
                self.request_timeout_ms.unwrap_or(5_000).max(100),
            ),
            store,
            trust: Arc::new(trust),
        })
    }
}

/// `<hostname>:<admin port>`: unique per host process on a machine.
fn default_host_id(admin_port: u16) -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default();
    let name = if name.is_empty() { "host".into() } else { name };
    format!("{name}:{admin_port}")
}

#[cfg(test)]
mod tests;
