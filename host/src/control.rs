//! Versions under operators' control: who may act on the admin API (`auth`), what they
//! decided (`state_file`, applied to the registry as an [`OperatorPolicy`]), the changes
//! they can make (`operations`) and what they see (`view`), every change recorded (`audit`),
//! and the `frontdoor ctl` client of all that (`ctl`).
//!
//! Every admin request goes through [`Control::intercept`] first: it is authorized (any
//! `GET` needs `read`, anything else on the host needs `admin`), and the control routes are
//! answered here; the rest goes on to the admin API it came for. Canary and shadow requests
//! are authorized and audited here and answered by `traffic/admin.rs`; the traffic state is
//! saved in the same state file, on every change (an operator's or a judge's).
//!
//! [`OperatorPolicy`]: crate::router::OperatorPolicy

pub mod audit;
pub mod auth;
pub mod ctl;
mod operations;
mod routes;
pub mod state_file;
pub mod view;

use std::{
    path::Path,
    sync::{
        Arc, Mutex, MutexGuard, OnceLock, Weak,
        atomic::{AtomicBool, Ordering},
    },
};

use anyhow::Context as _;
use hyper::{Method, Request, Response, StatusCode};

pub use auth::{Action, AuthConfig, Caller, Principal, Scope};
pub use operations::Operation;

use crate::{
    error_response::{Body, EdgeError, RequestBody, json_response},
    registry::Registry,
    traffic::{self, Traffic, TrafficState},
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
    /// Canaries and shadows, attached once both exist (`attach_traffic`).
    traffic: OnceLock<Arc<Traffic>>,
    /// Set while a recycle runs: the successor has read the state file, so a change made
    /// here now would be lost with this process.
    changes_held: AtomicBool,
    /// Fleet mode: where a change must be made before it takes effect here, so every host
    /// of the fleet decides the same (`fleet/control_sync.rs`).
    shared: OnceLock<Arc<dyn SharedDecisions>>,
}

/// The fleet's copy of the operators' decisions, which a change must reach first.
pub trait SharedDecisions: Send + Sync {
    /// Makes `next` the fleet's decisions, or answers why not (another host changed them
    /// meanwhile: 409; the fleet cannot be reached: 503). Blocking.
    fn publish(&self, next: &ControlState) -> Result<(), EdgeError>;
    /// The same for a change already in force here (a canary judge's): sent in the
    /// background; if another host's change won, the fleet's watch brings that one here.
    fn publish_later(&self, next: ControlState);
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
            traffic: OnceLock::new(),
            changes_held: AtomicBool::new(false),
            shared: OnceLock::new(),
        })
    }

    /// The canary plans and shadows saved last, for `Traffic` to resume at start.
    pub fn saved_traffic(&self) -> TrafficState {
        self.lock().traffic.clone()
    }

    /// Serves canary and shadow requests through `traffic` and saves its state in the state
    /// file after every change, whoever made it (a judge's rollback must survive a restart
    /// as much as an operator's plan).
    pub fn attach_traffic(self: &Arc<Self>, traffic: Arc<Traffic>) {
        let control: Weak<Self> = Arc::downgrade(self);
        traffic.on_change(Box::new(move |state| {
            if let Some(control) = control.upgrade() {
                control.save_traffic(state);
            }
        }));
        if self.traffic.set(traffic).is_err() {
            tracing::error!("traffic attached twice to the control plane; the first one stays");
        }
    }

    /// Saves a new traffic state. A failed write is logged: the change is already in force
    /// (a judge does not wait for a disk), and the next change writes the whole state again.
    fn save_traffic(&self, traffic: &TrafficState) {
        let mut state = self.lock();
        if state.traffic == *traffic {
            return;
        }
        let mut next = state.clone();
        next.traffic = traffic.clone();
        match self.store.save(&next) {
            Ok(()) => {
                if let Some(shared) = self.shared.get() {
                    shared.publish_later(next.clone());
                }
                *state = next;
            }
            Err(error) => tracing::error!(%error, "cannot save the canary and shadow state"),
        }
    }

    /// Fleet mode: every change goes through `shared` first.
    pub fn share_decisions(&self, shared: Arc<dyn SharedDecisions>) {
        if self.shared.set(shared).is_err() {
            tracing::error!("the fleet's decisions were attached twice; the first stays");
        }
    }

    /// Fleet mode: takes the fleet's decisions (made on another host, or by this one before
    /// it restarted) as this host's own: saved, applied to routing, canaries and shadows
    /// restarted from them. Blocking (it saves with fsync).
    pub fn adopt(&self, fleet: ControlState) {
        let (before, traffic_changed) = {
            let mut state = self.lock();
            if *state == fleet {
                return;
            }
            if let Err(error) = self.store.save(&fleet) {
                tracing::error!(%error, "cannot save the fleet's decisions here; applying them anyway");
            }
            let before = std::mem::replace(&mut *state, fleet.clone());
            self.registry.set_policy(state.policy());
            let traffic_changed = before.traffic != state.traffic;
            (before, traffic_changed)
        };
        // A quarantine lifted on another host is lifted here too.
        let lifted: Vec<(String, semver::Version)> = fleet
            .adapters
            .iter()
            .flat_map(|(name, adapter)| {
                let known = before.adapters.get(name);
                adapter
                    .lifted_quarantines
                    .iter()
                    .filter(move |lift| {
                        known.is_none_or(|known| !known.lifted_quarantines.contains(lift))
                    })
                    .map(move |lift| (name.clone(), lift.version.clone()))
            })
            .collect();
        if !lifted.is_empty() {
            for version in self.registry.loaded_versions() {
                let identity = &version.identity;
                if lifted
                    .iter()
                    .any(|(name, lifted)| *name == identity.name && *lifted == identity.version)
                {
                    version.health.lift_quarantine();
                }
            }
            self.registry.republish();
        }
        // Outside the lock: restoring calls the traffic hook, which takes it.
        if traffic_changed && let Some(traffic) = self.traffic.get() {
            traffic.restore(fleet.traffic.clone());
        }
        self.audit.record(
            "fleet",
            "adopt",
            "the fleet's decisions",
            serde_json::to_value(&before).unwrap_or_default(),
            serde_json::to_value(&fleet).unwrap_or_default(),
        );
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

    /// Checks a console session's principal against `action`, as [`Self::authorize`] checks
    /// a bearer token.
    pub fn authorize_principal(
        &self,
        principal: &Principal,
        action: Action<'_>,
    ) -> Result<Caller, Refused> {
        self.auth
            .authorize_principal(principal, action)
            .map_err(Refused)
    }

    /// Whether `principal` may do `action` (the console offers only the buttons it may use;
    /// the control route authorizes again when one is used).
    pub fn may(&self, principal: &Principal, action: Action<'_>) -> bool {
        self.auth.authorize_principal(principal, action).is_ok()
    }

    /// The principal and caller a console login with `token` gets (a token that may read).
    pub fn login(&self, token: &str) -> Result<(Principal, Caller), Refused> {
        self.auth.login(token).map_err(Refused)
    }

    /// True when admin tokens are configured.
    pub fn tokens_configured(&self) -> bool {
        self.auth.enabled()
    }

    /// The team that owns adapter or module `name`, if any.
    pub fn owner_of(&self, name: &str) -> Option<&str> {
        self.auth.owners.get(name).map(String::as_str)
    }

    /// The most recent audit entries, newest last.
    pub fn audit_recent(&self, limit: usize) -> Vec<audit::AuditEntry> {
        self.audit.recent(limit)
    }

    /// Every adapter under control, as `GET /admin/adapters` shows them.
    pub fn adapters(&self) -> view::AdaptersView {
        self.view_all()
    }

    /// Authorizes `request` and answers it if it is a control route; hands back the request
    /// for the rest of the admin API otherwise. A request the console builds in process
    /// carries its session's [`Principal`] as an extension (which no client can set: hyper
    /// puts none there) and is authorized by it; any other by its bearer token.
    pub async fn intercept<B: RequestBody>(
        self: &Arc<Self>,
        request: Request<B>,
    ) -> Result<Request<B>, Response<Body>> {
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
        let caller = match request.extensions().get::<Principal>() {
            Some(principal) => self.authorize_principal(principal, action),
            None => {
                refuse_from_web_pages(request.method(), request.headers())
                    .map_err(EdgeError::into_response)?;
                self.authorize(request.headers(), action)
            }
        }
        .map_err(Refused::into_response)?;
        match route {
            None => Ok(request),
            Some(Err(error)) => Err(error.into_response()),
            Some(Ok(route)) => Err(self.clone().serve(route, caller, request).await),
        }
    }

    /// Holds (`true`) or lets through (`false`) operators' changes: 409 while held.
    pub fn hold_changes(&self, held: bool) {
        // Taken so that a change being applied is saved before this returns.
        let _state = self.lock();
        self.changes_held.store(held, Ordering::SeqCst);
    }

    /// The refusal of a change while a recycle runs.
    pub(crate) fn refuse_if_held(&self) -> Result<(), EdgeError> {
        if self.changes_held.load(Ordering::SeqCst) {
            return Err(EdgeError::new(
                StatusCode::CONFLICT,
                "recycle in progress",
                "a recycle is in progress; make the change again once it ends (on the new process if it succeeds)",
            ));
        }
        Ok(())
    }

    /// The audit log, for changes made outside the control routes (a recycle).
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The state as saved now.
    pub fn state(&self) -> ControlState {
        self.lock().clone()
    }

    async fn serve(
        self: Arc<Self>,
        route: Route,
        caller: Caller,
        request: Request<impl RequestBody>,
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
            Route::Traffic { name, change } => {
                return self.serve_traffic(&caller, &name, change, request).await;
            }
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

    /// A canary or shadow request, answered by `traffic/admin.rs`; a change that succeeds
    /// is audited with the adapter's plan and shadow before and after.
    async fn serve_traffic(
        &self,
        caller: &Caller,
        name: &str,
        change: bool,
        request: Request<impl RequestBody>,
    ) -> Response<Body> {
        let Some(traffic) = self.traffic.get() else {
            return EdgeError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready",
                "canaries and shadows are not available on this host yet",
            )
            .into_response();
        };
        if change && let Err(refused) = self.refuse_if_held() {
            return refused.into_response();
        }
        let action = traffic_action(request.method(), request.uri().path());
        let before = change.then(|| traffic_section(&traffic.snapshot(), name));
        let response = traffic::admin::serve(traffic, &self.registry, request).await;
        if let Some(before) = before
            && response.status().is_success()
        {
            let after = traffic_section(&traffic.snapshot(), name);
            let target = format!("adapter {name}");
            self.audit
                .record(&caller.team, &action, &target, before, after);
        }
        response
    }

    fn lock(&self) -> MutexGuard<'_, ControlState> {
        // A panic while holding it leaves the last saved state, still the truth on disk.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What the audit calls a canary or shadow change: `canary start` for `POST .../canary`.
fn traffic_action(method: &Method, path: &str) -> String {
    let tail = path
        .find("/canary")
        .or_else(|| path.find("/shadow"))
        .map_or(path, |at| &path[at + 1..]);
    let named = match (method, tail) {
        (&Method::POST, "canary") => "canary start",
        (&Method::DELETE, "canary") => "canary forget",
        (&Method::POST, "canary/promote") => "canary promote",
        (&Method::POST, "canary/abort") => "canary abort",
        (&Method::POST, "canary/judge") => "canary judge",
        (&Method::POST, "shadow") => "shadow start",
        (&Method::DELETE, "shadow") => "shadow stop",
        _ => return format!("{method} {tail}"),
    };
    named.to_owned()
}

/// One adapter's canary plan and shadow, as the audit shows them.
fn traffic_section(state: &TrafficState, name: &str) -> serde_json::Value {
    serde_json::json!({
        "canary": state.canaries.get(name),
        "shadow": state.shadows.get(name),
    })
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

/// Refuses a change to the admin API sent by a web page. Browsers add `Origin` to every
/// cross-site (and same-site) `POST`, `PUT` and `DELETE`, and a page can send one to
/// `127.0.0.1:8081` from any site it is opened on: without tokens (loopback only) that would
/// be a cross-site request forgery. The API's own clients (`frontdoor ctl`, curl, scripts)
/// send no `Origin`; the console builds its requests itself, with a session's principal and
/// its own CSRF check, so they never reach this.
fn refuse_from_web_pages(method: &Method, headers: &hyper::HeaderMap) -> Result<(), EdgeError> {
    let reads = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if reads || !headers.contains_key(hyper::header::ORIGIN) {
        return Ok(());
    }
    Err(EdgeError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "the admin API takes no changes from web pages (the request has an Origin header); use the console at /console",
    ))
}
