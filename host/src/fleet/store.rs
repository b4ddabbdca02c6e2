//! The artifact bucket: an S3-compatible object store reached through `object_store`.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use object_store::{
    ClientOptions, ObjectStore, PutPayload, RetryConfig, aws::AmazonS3Builder, path::Path,
};

use sha2::{Digest as _, Sha256};

use super::{config::StoreConfig, signature::hex};

/// Where artifacts' bytes are kept.
#[derive(Clone)]
pub struct ArtifactStore {
    store: Arc<dyn ObjectStore>,
    limit: u64,
}

impl ArtifactStore {
    /// A client of the bucket `config` names; requests give up after `timeout`. Larger
    /// objects than `limit` bytes are refused when downloaded.
    pub fn new(config: &StoreConfig, timeout: Duration, limit: u64) -> Result<Self, String> {
        let store = AmazonS3Builder::new()
            .with_endpoint(&config.endpoint)
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            // Local stores (SeaweedFS, MinIO) answer at one address, bucket in the path.
            .with_virtual_hosted_style_request(false)
            // After the client options, which would reset it: plain http for local stores.
            .with_client_options(
                ClientOptions::new()
                    .with_timeout(timeout)
                    .with_connect_timeout(timeout.min(Duration::from_secs(2))),
            )
            .with_allow_http(config.endpoint.starts_with("http://"))
            // A few quick retries: the fleet's own loop retries with back-off, and a version
            // must not wait minutes to be reported failed.
            .with_retry(RetryConfig {
                max_retries: 2,
                retry_timeout: timeout,
                ..RetryConfig::default()
            })
            .build()
            .map_err(|error| format!("fleet.store: {error}"))?;
        Ok(Self {
            store: Arc::new(store),
            limit,
        })
    }

    /// Uploads `bytes` under `key`.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), String> {
        self.store
            .put(&Path::from(key), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|error| format!("cannot upload {key}: {error}"))
    }

    /// Whether the object `key` holds exactly `size` bytes whose SHA-256 is `sha256`: an
    /// object missing, or altered in the bucket, does not (and is uploaded again).
    pub async fn holds(&self, key: &str, size: u64, sha256: &str) -> Result<bool, String> {
        match self.store.head(&Path::from(key)).await {
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(error) => return Err(format!("cannot look up {key}: {error}")),
            Ok(meta) if meta.size != size => return Ok(false),
            Ok(_) => {}
        }
        let bytes = self.get(key).await?;
        Ok(hex(&Sha256::digest(&bytes)) == sha256)
    }

    /// Downloads the object `key`, refusing one larger than the limit before reading it.
    pub async fn get(&self, key: &str) -> Result<Bytes, String> {
        let object = self
            .store
            .get(&Path::from(key))
            .await
            .map_err(|error| format!("cannot download {key}: {error}"))?;
        if object.meta.size > self.limit {
            return Err(format!(
                "{key} has {} bytes, over artifacts.max_artifact_bytes = {}",
                object.meta.size, self.limit
            ));
        }
        object
            .bytes()
            .await
            .map_err(|error| format!("cannot download {key}: {error}"))
    }
}
