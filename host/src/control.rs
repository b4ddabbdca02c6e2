//! Versions under operators' control: who may act on the admin API (`auth`), what they
//! decided (`state_file`, applied to the registry as an [`OperatorPolicy`]), the changes
//! they can make (`operations`) and what they see (`view`), every change recorded (`audit`),
//! and the `frontdoor ctl` client of all that (`ctl`).
//!
//! Every admin request goes through [`Control::intercept`] first: it is authorized (any
//! `GET` needs `read`, anything else on the host needs `admin`), and the control routes are
//! answered here; the rest goes on to the admin API it came for.
//!
//! [`OperatorPolicy`]: crate::router::OperatorPolicy

pub mod audit;
pub mod auth;
pub mod ctl;
mod operations;
mod routes;
pub mod state_file;
mod view;

use std::{
    path::Path,
    sync::{Arc, Mutex, MutexGuard},
};

use anyhow::Context as _;
use hyper::{Method, Request, Response, StatusCode, body::Incoming};

pub use auth::{Action, AuthConfig, Caller, Scope};
pub use operations::Operation;

use crate::{
    error_response::{Body, EdgeError, json_response},
    registry::Registry,
};
use audit::AuditLog;
use routes::Route;
use state_file::{ControlState, StateFile};

/// The control plane of one host.
pub struct Control {
    auth: AuthConfig,
    registry: Arc<Registry>,
    store: StateFile,
    /// What operators decided, as saved; changes are serialised by this lock, which is
    /// taken before the registry's (never the other way round).
    state: Mutex<ControlState>,
    audit: AuditLog,
}

impl Control {
    /// Reads the state file and audit log of `state_dir` and applies the saved decisions to
    /// `registry`. A state file that cannot be read is an error naming it.
    pub fn open(
        auth: AuthConfig,
        state_dir: &Path,
        registry: Arc<Registry>,
    ) -> anyhow::Result<Self> {
        let store = StateFile::in_dir(state_dir);
        let state = store.load()?;
        let audit = AuditLog::open(state_dir).with_context(|| {
            format!(
                "cannot open the audit log {}",
                state_dir.join(audit::FILE_NAME).display()
            )
        })?;
        registry.set_policy(state.policy());
        if !auth.enabled() {
            tracing::warn!(
                "no admin token is configured: the admin API is open to loopback clients"
            );
        }
        Ok(Self {
            auth,
            registry,
            store,
            state: Mutex::new(state),
            audit,
        })
    }

    /// The reusable check for any admin endpoint: the caller, or the refusal (401, whose
    /// answer carries `WWW-Authenticate: Bearer`, or 403) to answer with
    /// [`Refused::into_response`].
    pub fn authorize(
        &self,
        headers: &hyper::HeaderMap,
        action: Action<'_>,
    ) -> Result<Caller, Refused> {
        self.auth.authorize(headers, action).map_err(Refused)
    }

    /// Authorizes `request` and answers it if it is a control route; hands back the request
    /// for the rest of the admin API otherwise.
    pub async fn intercept(
        self: &Arc<Self>,
        request: Request<Incoming>,
    ) -> Result<Request<Incoming>, Response<Body>> {
        let route = routes::parse(
            request.method(),
            request.uri().path(),
            request.uri().query(),
        );
        let action = match &route {
            Some(Ok(route)) => route.action(),
            // Reading what the admin API has (or that a path is wrong) needs `read`.
            Some(Err(_)) => Action::Read,
            None if request.method() == Method::GET => Action::Read,
            None => Action::ChangeHost,
        };
        let caller = self
            .authorize(request.headers(), action)
            .map_err(Refused::into_response)?;
        match route {
            None => Ok(request),
            Some(Err(error)) => Err(error.into_response()),
            Some(Ok(route)) => Err(self.clone().serve(route, caller, request).await),
        }
    }

    /// The state as saved now.
    pub fn state(&self) -> ControlState {
        self.lock().clone()
    }

    async fn serve(
        self: Arc<Self>,
        route: Route,
        caller: Caller,
        request: Request<Incoming>,
    ) -> Response<Body> {
        let answer = match route {
            Route::Audit { limit } => Ok(json_response(
                StatusCode::OK,
                &view::AuditView {
                    entries: self.audit.recent(limit),
                },
            )),
            Route::Adapters => Ok(json_response(StatusCode::OK, &self.view_all())),
            Route::Adapter(name) => self
                .adapter_view(&name)
                .map(|view| json_response(StatusCode::OK, &view)),
            Route::Module(name) => self
                .module_view(&name)
                .map(|view| json_response(StatusCode::OK, &view)),
            Route::Change { name, operation } => {
                match operation.complete(request.into_body()).await {
                    Ok(operation) => {
                        // Saving fsyncs and the registry publishes: off the admin runtime.
                        let control = self.clone();
                        tokio::task::spawn_blocking(move || {
                            control.apply(&caller, &name, operation)
                        })
                        .await
                        .unwrap_or_else(|_| Err(EdgeError::internal("the change failed")))
                        .map(|view| json_response(StatusCode::OK, &view))
                    }
                    Err(error) => Err(error),
                }
            }
        };
        answer.unwrap_or_else(EdgeError::into_response)
    }

    fn lock(&self) -> MutexGuard<'_, ControlState> {
        // A panic while holding it leaves the last saved state, still the truth on disk.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Checks, before anything is loaded or bound, that the admin listener is not open to the
/// network without tokens.
pub fn check_listen(auth: &AuthConfig, admin_listen: std::net::SocketAddr) -> anyhow::Result<()> {
    auth::check_listen(auth, admin_listen).map_err(anyhow::Error::msg)
}

/// A request the admin API refuses to authorize: 401 or 403.
#[derive(Debug)]
pub struct Refused(pub EdgeError);

impl Refused {
    /// The JSON error; a 401 carries the Bearer challenge.
    pub fn into_response(self) -> Response<Body> {
        let unauthorized = self.0.status == StatusCode::UNAUTHORIZED;
        let mut response = self.0.into_response();
        if unauthorized {
            let (name, value) = auth::challenge();
            response.headers_mut().insert(name, value);
        }
        response
    }
}
