//! A request being built, routed as the host routes it, and run to its answer.

use std::{
    sync::{Arc, PoisonError, atomic::Ordering},
    time::Duration,
};

use abi_stable::std_types::RResult;

use super::{
    BackendCall, TestKit, TestResponse,
    backends::lock_calls,
    clock::{self, Clock, Stopped},
};
use crate::{HandlerError, HandlerErrorKind, routing::RouteMatch, sdk::entry};

/// A request being built: add headers and a body, then [`TestRequest::send`] it.
pub struct TestRequest<'k> {
    pub(super) kit: &'k TestKit,
    pub(super) method: String,
    pub(super) target: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
}

impl TestRequest<'_> {
    /// Adds a header (the name is matched case-insensitively, as HTTP does).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the body to `value` as JSON, with `content-type: application/json`.
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_else(|error| {
            panic!("testkit: the request body does not serialize: {error}")
        });
        self.header("content-type", "application/json").body(body)
    }

    /// Routes the request as the host would and runs its handler to the end, on virtual
    /// time: the answer the device would get, with what happened on the way.
    pub fn send(self) -> TestResponse {
        let kit = self.kit;
        let (path, query) = match self.target.split_once('?') {
            Some((path, query)) => (path.to_owned(), query.to_owned()),
            None => (self.target.clone(), String::new()),
        };
        assert!(
            path.starts_with('/'),
            "testkit: {:?} must start with '/': the path below the adapter's namespace",
            self.target
        );
        let mut headers = self.headers;
        let number = kit.next_request.fetch_add(1, Ordering::Relaxed);
        let request_id = request_id(&mut headers, number);
        let label = kit.label();
        let (route, params) = match kit.routes.find(&self.method.as_str(), &path) {
            RouteMatch::Found { route, params } => (route, params),
            RouteMatch::MethodNotAllowed => {
                let detail = format!("{label} does not serve {} {path}", self.method);
                return TestResponse::edge(405, "method not allowed", &detail, &label, &request_id);
            }
            RouteMatch::NotFound => {
                let detail = format!("{label} has no route {} {path}", self.method);
                return TestResponse::edge(404, "not found", &detail, &label, &request_id);
            }
        };
        let clock = Arc::new(Clock::default());
        let request = kit.host_request(
            number,
            (self.method, path, query),
            params,
            headers,
            self.body,
            &clock,
            kit.deadline,
        );
        let logs = request.logs.clone();
        let budget = kit
            .handler_timeout
            .unwrap_or(kit.deadline + Duration::from_secs(1));
        let handlers = kit.handlers.clone();
        let outcome = clock::run(&clock, budget, async move {
            let future = entry::handle(&handlers, route, request.into_object());
            future.await
        });
        let calls: Vec<BackendCall> = lock_calls(&kit.calls)
            .iter()
            .filter(|call| call.request_id == request_id)
            .cloned()
            .collect();
        let logs = logs.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let mut response = match outcome {
            Ok(RResult::ROk(response)) => TestResponse::from_handler(response, &label, &request_id),
            Ok(RResult::RErr(error)) => {
                let detail = format!("the adapter failed (request {request_id})");
                TestResponse::edge(500, "internal error", &detail, &label, &request_id)
                    .with_error(error)
            }
            Err(Stopped::OutOfTime) => {
                let detail = format!(
                    "{label} did not answer within {} ms (request {request_id})",
                    budget.as_millis()
                );
                TestResponse::edge(504, "handler timeout", &detail, &label, &request_id)
            }
            Err(Stopped::Panicked) => {
                let detail = format!("the adapter failed (request {request_id})");
                TestResponse::edge(500, "internal error", &detail, &label, &request_id).with_error(
                    HandlerError::new(
                        HandlerErrorKind::Panicked,
                        "the handler's future panicked past the SDK's guard",
                    ),
                )
            }
        };
        response.elapsed = clock.now();
        response.calls = calls;
        response.logs = logs;
        response
    }
}

/// The device's `x-request-id` when the host would keep it (1 to 128 bytes of visible
/// ASCII, given once), else one the kit makes up and adds to the request, as the host does.
fn request_id(headers: &mut Vec<(String, String)>, number: u64) -> String {
    let mut given = headers.iter().filter(|(name, _)| name == "x-request-id");
    let valid = |value: &str| {
        (1..=128).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic())
    };
    if let (Some((_, first)), None) = (given.next(), given.next())
        && valid(first)
    {
        return first.clone();
    }
    headers.retain(|(name, _)| name != "x-request-id");
    let id = format!("{number:032x}");
    headers.push(("x-request-id".into(), id.clone()));
    id
}
