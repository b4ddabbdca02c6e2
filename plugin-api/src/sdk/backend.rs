//! The author's side of backend calls: `ctx.backend("catalog").get_json::<T>("/titles/1")`.
//!
//! Each call is one host call returning a future; awaiting several with `join` runs them in
//! parallel on the host's runtime. Each is gated (`wake_gate.rs`): `join` polls every
//! pending call whenever one answers, and a call that did not wake is then not polled across
//! the ABI.

use abi_stable::std_types::{RString, RVec, Tuple2};
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    BackendError, BackendErrorKind, BackendRequest, BackendResponse, HostRequestObj,
    wake_gate::Gated,
};

/// A named backend, reached through the host for the current request.
#[derive(Clone, Copy)]
pub struct Backend<'a> {
    host: &'a HostRequestObj,
    name: &'a str,
}

impl<'a> Backend<'a> {
    pub(crate) fn new(host: &'a HostRequestObj, name: &'a str) -> Self {
        Self { host, name }
    }

    /// `GET path`; identical GETs within one device request reach the backend once.
    ///
    /// Not an `async fn`: it hands back [`Self::send`]'s future itself, one state machine
    /// fewer per call (an adapter's fan-out keeps many in its `join_all`, moving and
    /// resuming each). Nothing happens until it is first polled, as before.
    pub fn get(&self, path: &str) -> impl Future<Output = Result<BackendResponse, BackendError>> {
        self.send("GET", path, &[], Vec::new())
    }

    /// `GET path`, the 2xx body decoded as JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, BackendError> {
        decode(self.get(path).await?)
    }

    /// `POST path` with `body` as JSON, the 2xx answer decoded as JSON.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, BackendError> {
        decode(self.send("POST", path, JSON_HEADERS, encode(body)?).await?)
    }

    /// `PUT path` with `body` as JSON, the 2xx answer decoded as JSON.
    pub async fn put_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, BackendError> {
        decode(self.send("PUT", path, JSON_HEADERS, encode(body)?).await?)
    }

    /// Any call: `method` on `path` with `headers` and `body`.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<BackendResponse, BackendError> {
        let request = BackendRequest {
            backend: RString::from(self.name),
            method: RString::from(method),
            path: RString::from(path),
            headers: headers
                .iter()
                .map(|(name, value)| Tuple2(RString::from(*name), RString::from(*value)))
                .collect::<RVec<_>>(),
            body: RVec::from(body),
        };
        Gated::new(self.host.backend(request)).await.into_result()
    }
}

const JSON_HEADERS: &[(&str, &str)] = &[("content-type", "application/json")];

fn encode<B: Serialize + ?Sized>(body: &B) -> Result<Vec<u8>, BackendError> {
    serde_json::to_vec(body).map_err(|error| {
        BackendError::new(
            BackendErrorKind::Invalid,
            format!("request body not serializable: {error}"),
        )
    })
}

fn decode<T: DeserializeOwned>(response: BackendResponse) -> Result<T, BackendError> {
    serde_json::from_slice(response.body()).map_err(|error| {
        BackendError::new(
            BackendErrorKind::Invalid,
            format!("answer is not the expected JSON: {error}"),
        )
    })
}

#[cfg(test)]
mod tests;
