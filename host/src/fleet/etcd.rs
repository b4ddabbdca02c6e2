//! The few etcd operations the fleet needs, over `etcd-client`: a prefix read with its
//! revision, create-if-absent and compare-and-swap transactions, watches and leases.

use std::time::Duration;

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, GetOptions, PutOptions, Txn, TxnOp, TxnOpResponse,
    WatchOptions, WatchStream,
};

/// A key's value with the revision it was last changed at.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub value: Vec<u8>,
    pub mod_revision: i64,
}

/// A read of many keys, consistent at `revision`.
#[derive(Debug, Clone)]
pub struct Listing {
    pub entries: Vec<Entry>,
    pub revision: i64,
}

/// How a create-if-absent ended.
#[derive(Debug)]
pub enum Created {
    /// Written; the store's revision after it.
    Now(i64),
    /// The key existed already, with this value.
    Existing(Entry),
}

/// A connection to an etcd cluster (any member that answers).
#[derive(Clone)]
pub struct Etcd {
    client: Client,
}

impl Etcd {
    /// Connects lazily: this never waits for etcd, the first request does (bounded by
    /// `timeout`).
    pub async fn connect(endpoints: &[String], timeout: Duration) -> Result<Self, String> {
        let options = ConnectOptions::new()
            .with_connect_timeout(timeout.min(Duration::from_secs(2)))
            .with_timeout(timeout)
            .with_keep_alive(Duration::from_secs(2), Duration::from_secs(2))
            // A member cut off from the leader answers nothing stale: watches on it end
            // and requests fail, so the client moves to a member that has one.
            .with_require_leader(true);
        let client = Client::connect(endpoints, Some(options))
            .await
            .map_err(|error| format!("etcd {endpoints:?}: {error}"))?;
        Ok(Self { client })
    }

    /// Every key under `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Listing, String> {
        let response = self
            .client
            .clone()
            .get(prefix, Some(GetOptions::new().with_prefix()))
            .await
            .map_err(describe)?;
        let revision = response.header().map_or(0, |header| header.revision());
        let entries = response
            .kvs()
            .iter()
            .map(|kv| Entry {
                key: String::from_utf8_lossy(kv.key()).into_owned(),
                value: kv.value().to_vec(),
                mod_revision: kv.mod_revision(),
            })
            .collect();
        Ok(Listing { entries, revision })
    }

    /// One key, if present, and the store's revision.
    pub async fn get(&self, key: &str) -> Result<(Option<Entry>, i64), String> {
        let response = self.client.clone().get(key, None).await.map_err(describe)?;
        let revision = response.header().map_or(0, |header| header.revision());
        let entry = response.kvs().first().map(|kv| Entry {
            key: key.to_owned(),
            value: kv.value().to_vec(),
            mod_revision: kv.mod_revision(),
        });
        Ok((entry, revision))
    }

    /// Writes `key` only if it does not exist; otherwise answers what is there.
    pub async fn create(&self, key: &str, value: Vec<u8>) -> Result<Created, String> {
        let txn = Txn::new()
            .when([Compare::create_revision(key, CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key, value, None)])
            .or_else([TxnOp::get(key, None)]);
        let response = self.client.clone().txn(txn).await.map_err(describe)?;
        let revision = response.header().map_or(0, |header| header.revision());
        if response.succeeded() {
            return Ok(Created::Now(revision));
        }
        for answer in response.op_responses() {
            if let TxnOpResponse::Get(get) = answer
                && let Some(kv) = get.kvs().first()
            {
                return Ok(Created::Existing(Entry {
                    key: key.to_owned(),
                    value: kv.value().to_vec(),
                    mod_revision: kv.mod_revision(),
                }));
            }
        }
        Err(format!(
            "etcd: {key} neither created nor found (deleted meanwhile?)"
        ))
    }

    /// Writes `key` only if it was last changed at `expected` (0: only if absent). `Ok`
    /// with the key's new mod revision, `Err(None)` when someone changed it meanwhile.
    pub async fn swap(
        &self,
        key: &str,
        value: Vec<u8>,
        expected: i64,
    ) -> Result<Result<i64, ()>, String> {
        let compare = if expected == 0 {
            Compare::create_revision(key, CompareOp::Equal, 0)
        } else {
            Compare::mod_revision(key, CompareOp::Equal, expected)
        };
        let txn = Txn::new()
            .when([compare])
            .and_then([TxnOp::put(key, value, None)]);
        let response = self.client.clone().txn(txn).await.map_err(describe)?;
        if !response.succeeded() {
            return Ok(Err(()));
        }
        Ok(Ok(response.header().map_or(0, |header| header.revision())))
    }

    /// Writes `key` attached to `lease` (gone when the lease expires).
    pub async fn put_leased(&self, key: &str, value: Vec<u8>, lease: i64) -> Result<(), String> {
        self.client
            .clone()
            .put(key, value, Some(PutOptions::new().with_lease(lease)))
            .await
            .map(|_| ())
            .map_err(describe)
    }

    /// Removes `key`.
    pub async fn delete(&self, key: &str) -> Result<(), String> {
        self.client
            .clone()
            .delete(key, None)
            .await
            .map(|_| ())
            .map_err(describe)
    }

    /// A lease of `ttl`; its id.
    pub async fn grant(&self, ttl: Duration) -> Result<i64, String> {
        let seconds = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX).max(1);
        let response = self
            .client
            .clone()
            .lease_grant(seconds, None)
            .await
            .map_err(describe)?;
        Ok(response.id())
    }

    /// Renews `lease` once; `Err` when it is gone (expired) or etcd is unreachable.
    pub async fn renew(&self, lease: i64) -> Result<(), String> {
        let (mut keeper, mut answers) = self
            .client
            .clone()
            .lease_keep_alive(lease)
            .await
            .map_err(describe)?;
        keeper.keep_alive().await.map_err(describe)?;
        match answers.message().await.map_err(describe)? {
            Some(answer) if answer.ttl() > 0 => Ok(()),
            _ => Err(format!("lease {lease:x} expired")),
        }
    }

    /// Watches every key under `prefix` (or just `key` when `prefix` is false) from
    /// `revision` on.
    pub async fn watch(
        &self,
        key: &str,
        prefix: bool,
        revision: i64,
    ) -> Result<WatchStream, String> {
        let mut options = WatchOptions::new().with_start_revision(revision);
        if prefix {
            options = options.with_prefix();
        }
        self.client
            .clone()
            .watch(key, Some(options))
            .await
            .map_err(describe)
    }
}

fn describe(error: etcd_client::Error) -> String {
    format!("etcd: {error}")
}
