//! The few etcd operations the fleet needs, over `etcd-client`: a prefix read with its
//! revision, create-if-absent and compare-and-swap transactions, watches and leases.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

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

/// A connection to an etcd cluster: a client per member, the one that answered last tried
/// first. A request that fails is tried on the next member, so a dead member costs one
/// refused connection, not the request (one balanced channel kept sending to it).
#[derive(Clone)]
pub struct Etcd {
    members: Arc<Vec<Client>>,
    current: Arc<AtomicUsize>,
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
            // and requests fail, so the next member is tried.
            .with_require_leader(true);
        let mut members = Vec::new();
        for endpoint in endpoints {
            let client = Client::connect([endpoint.as_str()], Some(options.clone()))
                .await
                .map_err(|error| format!("etcd {endpoint}: {error}"))?;
            members.push(client);
        }
        if members.is_empty() {
            return Err("no etcd endpoint".into());
        }
        Ok(Self {
            members: Arc::new(members),
            current: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Runs `request` on the member that answered last, then on each other one until one
    /// answers; the error is the last member's.
    async fn on_any<T, F>(&self, request: impl Fn(Client) -> F) -> Result<T, String>
    where
        F: Future<Output = Result<T, etcd_client::Error>>,
    {
        let first = self.current.load(Ordering::Relaxed);
        let mut last = String::new();
        for offset in 0..self.members.len() {
            let index = (first + offset) % self.members.len();
            match request(self.members[index].clone()).await {
                Ok(answer) => {
                    self.current.store(index, Ordering::Relaxed);
                    return Ok(answer);
                }
                Err(error) => last = describe(error),
            }
        }
        Err(last)
    }

    /// Every key under `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Listing, String> {
        let response = self
            .on_any(|mut client| async move {
                client
                    .get(prefix, Some(GetOptions::new().with_prefix()))
                    .await
            })
            .await?;
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
        let response = self
            .on_any(|mut client| async move { client.get(key, None).await })
            .await?;
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
        let response = self
            .on_any(|mut client| {
                let txn = txn.clone();
                async move { client.txn(txn).await }
            })
            .await?;
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
        let response = self
            .on_any(|mut client| {
                let txn = txn.clone();
                async move { client.txn(txn).await }
            })
            .await?;
        if !response.succeeded() {
            return Ok(Err(()));
        }
        Ok(Ok(response.header().map_or(0, |header| header.revision())))
    }

    /// Writes `key` attached to `lease` (gone when the lease expires).
    pub async fn put_leased(&self, key: &str, value: Vec<u8>, lease: i64) -> Result<(), String> {
        self.on_any(|mut client| {
            let value = value.clone();
            async move {
                client
                    .put(key, value, Some(PutOptions::new().with_lease(lease)))
                    .await
            }
        })
        .await
        .map(|_| ())
    }

    /// Removes `key`; whether it was there.
    pub async fn delete(&self, key: &str) -> Result<bool, String> {
        self.on_any(|mut client| async move { client.delete(key, None).await })
            .await
            .map(|response| response.deleted() > 0)
    }

    /// A lease of `ttl`; its id.
    pub async fn grant(&self, ttl: Duration) -> Result<i64, String> {
        let seconds = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX).max(1);
        let response = self
            .on_any(|mut client| async move { client.lease_grant(seconds, None).await })
            .await?;
        Ok(response.id())
    }

    /// Renews `lease` once; `Err` when it is gone (expired) or etcd is unreachable.
    pub async fn renew(&self, lease: i64) -> Result<(), String> {
        let answer = self
            .on_any(|mut client| async move {
                let (mut keeper, mut answers) = client.lease_keep_alive(lease).await?;
                keeper.keep_alive().await?;
                answers.message().await
            })
            .await?;
        match answer {
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
        self.on_any(|mut client| {
            let options = options.clone();
            async move { client.watch(key, Some(options)).await }
        })
        .await
    }
}

fn describe(error: etcd_client::Error) -> String {
    format!("etcd: {error}")
}
