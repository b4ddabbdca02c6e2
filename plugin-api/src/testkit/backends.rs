//! Fake backends: what each one answers (scripted per call), and the calls a handler made.
//!
//! A call is answered the way the host's resiliency layer would let it through: an unknown
//! backend name, an invalid method or path, an open breaker or a full bulkhead fail at
//! once; anything else waits its latency on the virtual clock, bounded by the backend's
//! timeout and the request's deadline (past either, a `Timeout`), and a non-2xx answer is
//! a `Status` error carrying the status.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use abi_stable::std_types::RResult;
use serde::{Serialize, de::DeserializeOwned};

use super::clock::Clock;
use crate::{BackendError, BackendErrorKind, BackendRequest, BackendResponse};

/// The host's default backend timeout (`[backends.NAME] timeout_ms`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1000);

/// What a fake backend does with one call.
#[derive(Debug, Clone)]
pub struct Reply {
    kind: ReplyKind,
    latency: Duration,
}

#[derive(Debug, Clone)]
enum ReplyKind {
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    Fail {
        kind: BackendErrorKind,
        message: String,
    },
    Hang,
}

impl Reply {
    /// `200` with `value` as JSON.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_else(|error| {
            panic!("testkit: a scripted JSON answer does not serialize: {error}")
        });
        Self::status(200)
            .header("content-type", "application/json")
            .body(body)
    }

    /// An answer with `status` and no body. A status outside 2xx reaches the handler as a
    /// [`BackendErrorKind::Status`] error, as from the host.
    pub fn status(status: u16) -> Self {
        Self {
            kind: ReplyKind::Answer {
                status,
                headers: Vec::new(),
                body: Vec::new(),
            },
            latency: Duration::ZERO,
        }
    }

    /// The call fails with `kind`, as the host would report it. `Timeout`, `Transport` and
    /// `Status` ones wait their latency first; the others (`CircuitOpen`, `Rejected`,
    /// `UnknownBackend`, `Invalid`) are refused before any I/O, at once.
    pub fn error(kind: BackendErrorKind) -> Self {
        let message = match kind {
            BackendErrorKind::Timeout => "no answer in time (scripted)",
            BackendErrorKind::Rejected => "calls already in flight (scripted)",
            BackendErrorKind::CircuitOpen => "circuit open, not called (scripted)",
            BackendErrorKind::Status => "status error (scripted)",
            BackendErrorKind::Transport => "connection refused (scripted)",
            BackendErrorKind::UnknownBackend => "no such backend (scripted)",
            BackendErrorKind::Invalid => "invalid call (scripted)",
        };
        if kind == BackendErrorKind::Status {
            return Self::status(500);
        }
        Self {
            kind: ReplyKind::Fail {
                kind,
                message: message.to_owned(),
            },
            latency: Duration::ZERO,
        }
    }

    /// The connection is refused: a `Transport` error.
    pub fn refused() -> Self {
        Self::error(BackendErrorKind::Transport)
    }

    /// The backend's circuit breaker is open: `CircuitOpen`, at once.
    pub fn circuit_open() -> Self {
        Self::error(BackendErrorKind::CircuitOpen)
    }

    /// The backend's bulkhead is full: `Rejected`, at once.
    pub fn rejected() -> Self {
        Self::error(BackendErrorKind::Rejected)
    }

    /// Never answers: the backend's timeout (or the request's deadline, if sooner) ends
    /// the wait with a `Timeout`, on the virtual clock.
    pub fn hang() -> Self {
        Self {
            kind: ReplyKind::Hang,
            latency: Duration::ZERO,
        }
    }

    /// Answers after `latency` of virtual time (a latency at or past the backend's timeout
    /// is a `Timeout` at the timeout).
    pub fn after(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Adds a header to the answer.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let ReplyKind::Answer { headers, .. } = &mut self.kind {
            headers.push((name.to_ascii_lowercase(), value.to_owned()));
        }
        self
    }

    /// Sets the answer's body.
    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        if let ReplyKind::Answer { body, .. } = &mut self.kind {
            *body = bytes.into();
        }
        self
    }
}

/// Computes the reply to a call from the call itself.
type Responder = Arc<dyn Fn(&BackendCall) -> Reply + Send + Sync>;

/// One scripted rule: calls with this method and path get this reply.
#[derive(Clone)]
struct Rule {
    method: String,
    /// The path with its query, exactly; or a prefix, when written with a trailing `*`.
    path: String,
    reply: Responder,
}

impl Rule {
    fn matches(&self, call: &BackendCall) -> bool {
        (self.method == "*" || self.method.eq_ignore_ascii_case(&call.method))
            && match self.path.strip_suffix('*') {
                Some(prefix) => call.path.starts_with(prefix),
                None => call.path == self.path,
            }
    }
}

/// A backend the kit pretends is configured, and its script. Rules are tried newest first,
/// so a test overrides a shared set-up by adding a rule; a call no rule matches gets the fallback (`otherwise`), by default a
/// `404` naming the call, which fails the handler's call with `Status(404)`.
#[derive(Clone)]
pub struct FakeBackend {
    name: String,
    timeout: Duration,
    rules: Vec<Rule>,
    otherwise: Option<Responder>,
}

impl FakeBackend {
    pub(crate) fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            rules: Vec::new(),
            otherwise: None,
        }
    }

    /// `method path` gets `reply`. `path` includes the query (`/rows?profile=1&count=6`);
    /// a trailing `*` matches every path that starts with the rest (`/titles?ids=*`), and
    /// the method `*` any method.
    pub fn on(&mut self, method: &str, path: &str, reply: Reply) -> &mut Self {
        self.rules.push(Rule {
            method: method.to_owned(),
            path: path.to_owned(),
            reply: Arc::new(move |_| reply.clone()),
        });
        self
    }

    /// `GET path` gets `reply` (see [`FakeBackend::on`]).
    pub fn on_get(&mut self, path: &str, reply: Reply) -> &mut Self {
        self.on("GET", path, reply)
    }

    /// `method path` gets what `respond` makes of the call (its path, headers, body).
    pub fn on_with(
        &mut self,
        method: &str,
        path: &str,
        respond: impl Fn(&BackendCall) -> Reply + Send + Sync + 'static,
    ) -> &mut Self {
        self.rules.push(Rule {
            method: method.to_owned(),
            path: path.to_owned(),
            reply: Arc::new(respond),
        });
        self
    }

    /// From now on every call gets `reply`, whatever rules came before: how a test takes
    /// a backend down (`.always(Reply::refused())`) on top of a shared set-up.
    pub fn always(&mut self, reply: Reply) -> &mut Self {
        self.on("*", "*", reply)
    }

    /// Every call no rule matches gets `reply`.
    pub fn otherwise(&mut self, reply: Reply) -> &mut Self {
        self.otherwise = Some(Arc::new(move |_| reply.clone()));
        self
    }

    /// Every call no rule matches gets what `respond` makes of it.
    pub fn otherwise_with(
        &mut self,
        respond: impl Fn(&BackendCall) -> Reply + Send + Sync + 'static,
    ) -> &mut Self {
        self.otherwise = Some(Arc::new(respond));
        self
    }

    /// The backend's timeout (default 1000 ms, the host's default).
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = timeout;
        self
    }

    fn reply_to(&self, call: &BackendCall) -> Reply {
        let responder = self
            .rules
            .iter()
            .rev()
            .find(|rule| rule.matches(call))
            .map(|rule| &rule.reply)
            .or(self.otherwise.as_ref());
        match responder {
            Some(respond) => respond(call),
            None => Reply::status(404).body(format!(
                "testkit: no answer scripted for {} {} on {}",
                call.method, call.path, self.name
            )),
        }
    }
}

/// How a recorded call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The backend answered with this status (a non-2xx one reached the handler as a
    /// `Status` error).
    Answered(u16),
    /// No answer: the error kind the handler got.
    Failed(BackendErrorKind),
}

/// A backend call a handler made, as the backend received it.
#[derive(Debug, Clone)]
pub struct BackendCall {
    pub backend: String,
    pub method: String,
    /// The path with its query.
    pub path: String,
    /// The headers sent, names lower case, `x-request-id` included (the host adds the
    /// device request's id to every call, over any value the handler set).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The device request's `x-request-id`.
    pub request_id: String,
    /// Virtual time since the device request started, when the call was made.
    pub started: Duration,
    /// When it ended, `None` if the handler dropped it unfinished.
    pub finished: Option<Duration>,
    pub outcome: Option<Outcome>,
}

impl BackendCall {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body sent, as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_slice(&self.body)
    }

    /// `"GET catalog /titles/1"`: a short form for assertions on what was called.
    pub fn summary(&self) -> String {
        format!("{} {} {}", self.method, self.backend, self.path)
    }

    /// True when this call and `other` were both in flight at some moment (neither ended
    /// before the other started): the handler made them in parallel.
    pub fn overlaps(&self, other: &BackendCall) -> bool {
        let ends = |call: &BackendCall| call.finished.unwrap_or(Duration::MAX);
        self.started < ends(other) && other.started < ends(self) || self.started == other.started
    }
}

/// The scripts of a kit's fake backends, by name.
pub(crate) type Scripts = HashMap<String, FakeBackend>;

/// Every call made through one kit, in order.
pub(crate) type CallLog = Mutex<Vec<BackendCall>>;

pub(crate) fn lock_calls(calls: &CallLog) -> MutexGuard<'_, Vec<BackendCall>> {
    // Nothing panics while the log is held; a poisoned log is still whole.
    calls.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a call needs of its device request.
pub(crate) struct CallContext {
    pub(crate) scripts: Arc<Scripts>,
    pub(crate) calls: Arc<CallLog>,
    pub(crate) clock: Arc<Clock>,
    pub(crate) deadline: Duration,
    pub(crate) request_id: String,
}

/// One backend call on the virtual clock, recorded from its first poll (an unpolled call
/// is never made, as with the host) to its end.
pub(crate) async fn call(
    context: Arc<CallContext>,
    request: BackendRequest,
) -> RResult<BackendResponse, BackendError> {
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|pair| (pair.0.to_ascii_lowercase(), pair.1.to_string()))
        .filter(|(name, _)| name != "x-request-id")
        .collect();
    headers.push(("x-request-id".into(), context.request_id.clone()));
    let record = BackendCall {
        backend: request.backend.to_string(),
        method: request.method.to_string(),
        path: request.path.to_string(),
        headers,
        body: request.body.to_vec(),
        request_id: context.request_id.clone(),
        started: context.clock.now(),
        finished: None,
        outcome: None,
    };
    let index = {
        let mut calls = lock_calls(&context.calls);
        calls.push(record.clone());
        calls.len() - 1
    };
    let result = answer(&context, &record).await;
    let outcome = match &result {
        Ok(response) => Outcome::Answered(response.status),
        Err(error) if error.kind == BackendErrorKind::Status => Outcome::Answered(error.status),
        Err(error) => Outcome::Failed(error.kind),
    };
    if let Some(call) = lock_calls(&context.calls).get_mut(index) {
        call.finished = Some(context.clock.now());
        call.outcome = Some(outcome);
    }
    result.into()
}

async fn answer(
    context: &CallContext,
    call: &BackendCall,
) -> Result<BackendResponse, BackendError> {
    let name = call.backend.as_str();
    let (timeout, reply) = {
        let Some(backend) = context.scripts.get(name) else {
            return Err(BackendError::new(
                BackendErrorKind::UnknownBackend,
                format!("no backend named {name:?} is configured"),
            ));
        };
        (backend.timeout, backend.reply_to(call))
    };
    // What the host refuses before sending (`outgoing`): HTTP cannot carry these.
    if !is_token(&call.method) {
        return Err(invalid(format!("method {:?} is invalid", call.method)));
    }
    if !call.path.starts_with('/') {
        return Err(invalid(format!("path {:?} must start with '/'", call.path)));
    }
    for (name, value) in &call.headers {
        if !is_token(name) {
            return Err(invalid(format!("header name {name:?} is invalid")));
        }
        if !value
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
        {
            return Err(invalid(format!("header {name} has an invalid value")));
        }
    }
    let remaining = context.deadline.saturating_sub(context.clock.now());
    if remaining.is_zero() {
        return Err(BackendError::new(
            BackendErrorKind::Timeout,
            format!("{name}: the device request's deadline has passed"),
        ));
    }
    // Refused before any I/O, as the host's breaker and bulkhead refuse.
    if let ReplyKind::Fail { kind, message } = &reply.kind
        && matches!(
            kind,
            BackendErrorKind::CircuitOpen
                | BackendErrorKind::Rejected
                | BackendErrorKind::UnknownBackend
                | BackendErrorKind::Invalid
        )
    {
        return Err(BackendError::new(*kind, format!("{name}: {message}")));
    }
    let limit = timeout.min(remaining);
    let answers_in_time = !matches!(reply.kind, ReplyKind::Hang) && reply.latency < limit;
    if !answers_in_time {
        context.clock.sleep(limit).await;
        return Err(BackendError::new(
            BackendErrorKind::Timeout,
            format!("{name}: no answer within {} ms", limit.as_millis()),
        ));
    }
    context.clock.sleep(reply.latency).await;
    match reply.kind {
        ReplyKind::Answer {
            status,
            headers,
            body,
        } => {
            if !(200..300).contains(&status) {
                let excerpt = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                return Err(BackendError::status(status, excerpt));
            }
            Ok(BackendResponse::new(status, headers, body))
        }
        ReplyKind::Fail { kind, message } => {
            Err(BackendError::new(kind, format!("{name}: {message}")))
        }
        ReplyKind::Hang => Err(BackendError::new(
            BackendErrorKind::Timeout,
            format!("{name}: no answer within {} ms", limit.as_millis()),
        )),
    }
}

/// An HTTP token (a method, a header name): RFC 9110's `tchar`s, at least one.
pub(crate) fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn invalid(message: String) -> BackendError {
    BackendError::new(BackendErrorKind::Invalid, message)
}
