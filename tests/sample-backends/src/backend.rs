//! One sample service at run time: its faults, counters and state, and the way a request
//! goes through them to the service's answer.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use hyper::{Request, Response, StatusCode, body::Incoming};
use serde_json::json;

use crate::{
    data,
    faults::{Faults, FaultsError, Switch, Verdict},
    http::{self, Body, Call, Reply},
    server::Gate,
    service::Service,
    shutdown::{Stop, Stopped},
    stats::{Recorder, Stats},
};

/// How long changing `refuse` waits for the listener to close or reopen.
pub(crate) const GATE_TIMEOUT: Duration = Duration::from_secs(2);

/// A running sample service.
#[derive(Debug)]
pub(crate) struct Backend {
    pub(crate) service: Service,
    pub(crate) addr: SocketAddr,
    pub(crate) gate: Arc<Gate>,
    switch: Switch,
    stats: Arc<Recorder>,
    state: data::State,
}

impl Backend {
    /// A service whose listener is bound to `addr`, without faults.
    pub(crate) fn new(service: Service, addr: SocketAddr) -> Backend {
        Backend {
            service,
            addr,
            gate: Gate::open(),
            switch: Switch::default(),
            stats: Arc::default(),
            state: data::State::default(),
        }
    }

    /// Replaces the faults; returns once the listener matches `refuse`.
    pub(crate) async fn set_faults(&self, faults: Faults) -> Result<Faults, FaultsError> {
        faults.validate()?;
        self.switch.set(faults);
        self.gate
            .set(!faults.refuse, GATE_TIMEOUT)
            .await
            .map_err(|_| FaultsError::Listener {
                service: self.service,
                addr: self.addr,
                refuse: faults.refuse,
            })?;
        tracing::info!(service = %self.service, ?faults, "faults set");
        Ok(faults)
    }

    pub(crate) fn faults(&self) -> Faults {
        self.switch.faults()
    }

    pub(crate) fn stats(&self) -> Stats {
        self.stats.snapshot()
    }

    pub(crate) fn reset_stats(&self) {
        self.stats.reset();
    }

    /// Answers one request: `/health` directly; anything else is counted, read, put
    /// through the faults and answered by the service. `Err` drops the connection unanswered.
    pub(crate) async fn serve(
        self: Arc<Self>,
        request: Request<Incoming>,
        mut stop: Stop,
    ) -> Result<Response<Body>, Stopped> {
        if request.uri().path() == "/health" {
            return Ok(self.health(&request).into_response());
        }
        let _in_flight = self
            .stats
            .begin(format!("{} {}", request.method(), request.uri().path()));
        let call = match http::read_call(request).await {
            Ok(call) => call,
            Err(reply) => return Ok(reply.into_response()),
        };
        let plan = self.switch.plan();
        let reply = match plan.run(&mut stop).await? {
            Verdict::Fail => Reply::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "injected failure (request {} since faults were set)",
                    plan.n
                ),
            ),
            Verdict::Answer => self.answer(&call),
        };
        Ok(reply.into_response())
    }

    /// The service's answer, `/ping` included.
    fn answer(&self, call: &Call) -> Reply {
        if call.path == "/ping" {
            return if call.method == hyper::Method::GET {
                Reply::ok(json!({ "ok": true }))
            } else {
                Reply::method_not_allowed()
            };
        }
        data::answer(self.service, &self.state, call, now_ms())
    }

    fn health(&self, request: &Request<Incoming>) -> Reply {
        if request.method() == hyper::Method::GET {
            Reply::ok(json!({ "ok": true, "service": self.service.name() }))
        } else {
            Reply::method_not_allowed()
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// The five services, in [`Service::ALL`] order (index with [`Service::index`]).
pub(crate) type Fleet = [Arc<Backend>; 5];
