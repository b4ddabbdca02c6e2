//! The web console on the admin listener, `/console`: server-rendered pages of every
//! adapter's versions and health, the backends and the audit log, and forms that act
//! through the control plane.
//!
//! - **Who may look.** A login turns an admin token into a session (`session.rs`): the
//!   browser holds a random id in an HttpOnly, SameSite=Strict cookie; the host keeps the
//!   token's [`Principal`]. Every page asks [`Control::authorize_principal`] for `read`,
//!   as the API asks for a bearer token. On a host without tokens (loopback only), the
//!   login is one button and the session acts as `loopback` with every right, as the API
//!   does there.
//! - **Who may act.** Every state change is a POST carrying the session's CSRF token
//!   (compared in constant time) from a same-origin page; it becomes the control route's
//!   own request (`POST /admin/adapters/{name}/rollback`, ...), carrying the session's
//!   principal, and goes through [`Control::intercept`]: the same authorization, the same
//!   checks, the same audit entry as the API's. Buttons a team may not use are not
//!   offered ([`Control::may`]), and the control plane refuses them anyway.
//! - **What it shows** (`model.rs`) comes from the admin API's own views and the
//!   sampled history (`history.rs`); rendering (`pages/`, `chart.rs`) escapes everything.

mod assets;
mod chart;
mod form;
pub mod history;
mod model;
mod pages;
mod session;

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::{
    HeaderMap, Method, Request, Response, StatusCode,
    header::{
        CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HOST, HeaderValue, LOCATION, ORIGIN,
        REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
    },
};
use maud::Markup;

use crate::{
    backends::Backends,
    control::{Action, Control, Principal},
    error_response::{Body, RequestBody},
    fleet::Fleet,
    registry::Registry,
    requests::Insight,
    traffic::Traffic,
};
use form::Form;
use history::History;
use pages::{AdapterControls, Flash, Shell};
use session::{Session, Sessions};

pub use session::{COOKIE_NAME, MAX_SESSIONS};

/// The policy of every console page: only the binary's own stylesheet and script, no inline
/// code or style, forms only to the console, never framed.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// True for the paths the console answers.
pub fn is_console_path(path: &str) -> bool {
    path == "/console" || path.starts_with("/console/")
}

/// The console of one host.
pub struct Console {
    registry: Arc<Registry>,
    backends: Arc<Backends>,
    control: Arc<Control>,
    traffic: Arc<Traffic>,
    insight: Arc<Insight>,
    history: Arc<History>,
    /// Fleet mode: the fleet page reads every host's report through it.
    fleet: Option<Arc<Fleet>>,
    sessions: Sessions,
}

/// What a console request was refused with, as a page.
struct Refusal {
    status: StatusCode,
    title: &'static str,
    text: String,
}

impl Console {
    pub fn new(
        registry: Arc<Registry>,
        backends: Arc<Backends>,
        control: Arc<Control>,
        traffic: Arc<Traffic>,
        insight: Arc<Insight>,
        history: Arc<History>,
        fleet: Option<Arc<Fleet>>,
    ) -> Self {
        Self {
            registry,
            backends,
            control,
            traffic,
            insight,
            history,
            fleet,
            sessions: Sessions::default(),
        }
    }

    /// Serves a request whose path [`is_console_path`].
    pub async fn serve(&self, request: Request<impl RequestBody>) -> Response<Body> {
        let path = request.uri().path().to_owned();
        let method = request.method().clone();
        if path.starts_with("/console/assets/") {
            return match method {
                Method::GET | Method::HEAD => assets::serve(&path),
                _ => refusal_page(method_not_allowed(), None),
            };
        }
        match (&method, path.as_str()) {
            (&Method::GET, "/console/login") => self.login_page(request.headers()),
            (&Method::POST, "/console/login") => self.login(request).await,
            (&Method::POST, "/console/logout") => self.logout(request).await,
            (&Method::GET, _) => self.page(&path, request.headers()).await,
            (&Method::POST, _) => self.act(&path, request).await,
            _ => refusal_page(method_not_allowed(), None),
        }
    }

    fn login_page(&self, headers: &HeaderMap) -> Response<Body> {
        if self.sessions.find(headers).is_some() {
            return redirect("/console", None);
        }
        html(
            StatusCode::OK,
            pages::login(self.control.tokens_configured(), None),
        )
    }

    async fn login(&self, request: Request<impl RequestBody>) -> Response<Body> {
        if let Err(refusal) = same_origin(request.headers()) {
            return refusal_page(refusal, None);
        }
        let Some(form) = Form::read(request.into_body()).await else {
            return refusal_page(too_large(), None);
        };
        let token = form.get("token").unwrap_or_default();
        let (principal, caller) = match self.control.login(token) {
            Ok(found) => found,
            Err(refused) => {
                let status = refused.0.status;
                return html(
                    status,
                    pages::login(
                        self.control.tokens_configured(),
                        Some(&format!("Not logged in: {}", refused.0.detail)),
                    ),
                );
            }
        };
        match self.sessions.open(principal, caller.team) {
            Ok(id) => redirect("/console", Some(&session::set_cookie(&id))),
            Err(error) => {
                tracing::error!(%error, "cannot open a console session");
                refusal_page(
                    Refusal {
                        status: StatusCode::INTERNAL_SERVER_ERROR,
                        title: "Not logged in",
                        text: "The host could not draw a session id.".to_owned(),
                    },
                    None,
                )
            }
        }
    }

    async fn logout(&self, request: Request<impl RequestBody>) -> Response<Body> {
        let headers = request.headers().clone();
        if let Err(refusal) = self.checked_post(&headers, request.into_body()).await {
            return refusal_page(refusal, None);
        }
        self.sessions.close(&headers);
        redirect("/console/login", Some(&session::clear_cookie()))
    }

    /// A page, or with `x-console-fragment: 1` only its live region.
    async fn page(&self, path: &str, headers: &HeaderMap) -> Response<Body> {
        let Some(session) = self.sessions.find(headers) else {
            return redirect("/console/login", None);
        };
        if let Err(refused) = self
            .control
            .authorize_principal(&session.principal, Action::Read)
        {
            // A token removed from the config, or one that lost its read scope.
            self.sessions.close(headers);
            return refusal_page(
                Refusal {
                    status: refused.0.status,
                    title: "Not allowed",
                    text: refused.0.detail,
                },
                None,
            );
        }
        let fragment = headers
            .get("x-console-fragment")
            .is_some_and(|value| value == "1");
        let flash = if fragment {
            None
        } else {
            self.sessions.take_flash(headers).map(decode_flash)
        };
        let current = match path {
            "/console/backends" => "/console/backends",
            "/console/audit" => "/console/audit",
            "/console/fleet" => "/console/fleet",
            _ => "/console",
        };
        let shell = Shell {
            team: &session.team,
            csrf: &session.csrf,
            current,
            fleet: self.fleet.is_some(),
        };
        let markup = match path {
            "/console" | "/console/" => {
                let model = self.overview();
                if fragment {
                    pages::overview_live(&model)
                } else {
                    pages::overview(&model, &shell, flash.as_ref())
                }
            }
            "/console/backends" => {
                let model = model::BackendsPage {
                    backends: self.backends.view(),
                };
                if fragment {
                    pages::backends_live(&model)
                } else {
                    pages::backends(&model, &shell, flash.as_ref())
                }
            }
            "/console/fleet" => match &self.fleet {
                Some(fleet) => {
                    let model = fleet.view().await;
                    if fragment {
                        pages::fleet_live(&model)
                    } else {
                        pages::fleet(&model, &shell, flash.as_ref())
                    }
                }
                None => {
                    return html(
                        StatusCode::NOT_FOUND,
                        pages::message(
                            "Not in a fleet",
                            "This host is not in a fleet: its configuration has no [fleet] table.",
                            "/console",
                            Some(&shell),
                        ),
                    );
                }
            },
            "/console/audit" => {
                let mut entries = self.control.audit_recent(200);
                entries.reverse();
                pages::audit(&model::AuditPage { entries }, &shell, flash.as_ref())
            }
            _ => match path.strip_prefix("/console/adapters/") {
                Some(name) if !name.contains('/') => match self.adapter_model(name) {
                    Some(model) if fragment => pages::adapter_live(&model),
                    Some(model) => {
                        let controls = AdapterControls {
                            csrf: &session.csrf,
                            may_act: self
                                .control
                                .may(&session.principal, Action::Change(&model.row.name)),
                            team: &session.team,
                        };
                        pages::adapter(&model, &controls, &shell, flash.as_ref())
                    }
                    None => {
                        return html(
                            StatusCode::NOT_FOUND,
                            pages::message(
                                "No such adapter",
                                &format!("No adapter named {name} is loaded."),
                                "/console",
                                Some(&shell),
                            ),
                        );
                    }
                },
                _ => {
                    return html(
                        StatusCode::NOT_FOUND,
                        pages::message(
                            "Not found",
                            "The console has no such page.",
                            "/console",
                            Some(&shell),
                        ),
                    );
                }
            },
        };
        html(StatusCode::OK, markup)
    }

    /// A form posted to `/console/adapters/{name}/...`: checked, then made as the control
    /// route's own request with the session's principal.
    async fn act(&self, path: &str, request: Request<impl RequestBody>) -> Response<Body> {
        let headers = request.headers().clone();
        let (session, form) = match self.checked_post(&headers, request.into_body()).await {
            Ok(checked) => checked,
            Err(refusal) => return refusal_page(refusal, None),
        };
        let back = path
            .strip_prefix("/console/adapters/")
            .and_then(|rest| rest.split('/').next())
            .map(|name| format!("/console/adapters/{name}"))
            .unwrap_or_else(|| "/console".to_owned());
        let shell = Shell {
            team: &session.team,
            csrf: &session.csrf,
            current: "/console",
            fleet: self.fleet.is_some(),
        };
        let call = match ControlCall::from_form(path, &form) {
            Ok(call) => call,
            Err(refusal) => {
                return html(
                    refusal.status,
                    pages::message(refusal.title, &refusal.text, &back, Some(&shell)),
                );
            }
        };
        let answer = self.call_control(&session.principal, &call).await;
        if answer.status().is_success() {
            let done = format!("{} of {}: done.", call.label, call.adapter);
            self.sessions.set_flash(&headers, encode_flash(true, &done));
            return redirect(&back, None);
        }
        let status = answer.status();
        let detail = error_detail(answer).await;
        html(
            status,
            pages::message(
                "Refused",
                &format!("{} of {} was refused: {detail}", call.label, call.adapter),
                &back,
                Some(&shell),
            ),
        )
    }

    /// The control route's answer to `call`, authorized by `principal` in
    /// [`Control::intercept`] like any admin request.
    async fn call_control(&self, principal: &Principal, call: &ControlCall) -> Response<Body> {
        let mut request = match Request::builder()
            .method(call.method.clone())
            .uri(&call.path)
            .header(CONTENT_TYPE, "application/json")
            .body(Body::new(Bytes::from(call.body.clone())))
        {
            Ok(request) => request,
            Err(_) => {
                return crate::error_response::EdgeError::bad_request("the names are not valid")
                    .into_response();
            }
        };
        request.extensions_mut().insert(*principal);
        match self.control.intercept(request).await {
            // Every action maps to a control route, which the control plane answers.
            Err(answered) => answered,
            Ok(_) => {
                crate::error_response::EdgeError::not_found("no such control route").into_response()
            }
        }
    }

    /// The session of a POST whose origin and CSRF token check out, and its form.
    async fn checked_post(
        &self,
        headers: &HeaderMap,
        body: impl RequestBody,
    ) -> Result<(Session, Form), Refusal> {
        same_origin(headers)?;
        let session = self.sessions.find(headers).ok_or_else(|| Refusal {
            status: StatusCode::UNAUTHORIZED,
            title: "Not logged in",
            text: "Log in again: this browser has no console session.".to_owned(),
        })?;
        let form = Form::read(body).await.ok_or_else(too_large)?;
        if !session.csrf_matches(form.get("csrf")) {
            return Err(Refusal {
                status: StatusCode::FORBIDDEN,
                title: "Refused",
                text: "The form's CSRF token is missing or wrong: reload the page and try again."
                    .to_owned(),
            });
        }
        Ok((session, form))
    }

    fn overview(&self) -> model::Overview {
        let snapshot = self.registry.snapshot();
        let plugins = crate::admin::plugins_view(&snapshot, self.registry.loader().copies_stats());
        let adapters = self.control.adapters().adapters;
        let control = &self.control;
        model::overview(
            &plugins,
            &adapters,
            &|name| control.owner_of(name).map(str::to_owned),
            &self.traffic.snapshot(),
            &self.history,
        )
    }

    fn adapter_model(&self, name: &str) -> Option<model::AdapterPage> {
        let row = self
            .overview()
            .adapters
            .into_iter()
            .find(|row| row.name == name)?;
        let history = row
            .versions
            .iter()
            .map(|version| {
                let label = format!("{name}@{}", version.version);
                (version.version.clone(), self.history.points(&label))
            })
            .filter(|(_, points)| !points.is_empty())
            .collect();
        Some(model::AdapterPage {
            history,
            canary: self.traffic.canary(name),
            shadow: self.traffic.shadow(name),
            failing: model::failing(self.insight.recent().query(&model::recent_filter(name))),
            row,
        })
    }
}

/// A console form as the control route it stands for.
#[derive(Debug, PartialEq)]
struct ControlCall {
    adapter: String,
    /// What the flash and refusals call it.
    label: &'static str,
    method: Method,
    path: String,
    body: Vec<u8>,
}

impl ControlCall {
    /// `/console/adapters/{name}/{action}` with its form.
    fn from_form(path: &str, form: &Form) -> Result<Self, Refusal> {
        let rest = path
            .strip_prefix("/console/adapters/")
            .ok_or_else(unknown_action)?;
        let segments: Vec<&str> = rest.split('/').collect();
        let (name, action) = match segments.as_slice() {
            [name, action @ ..] if plain(name) => (*name, action),
            _ => return Err(unknown_action()),
        };
        let api = format!("/admin/adapters/{name}");
        let field = |field: &str| {
            form.get(field)
                .filter(|value| plain(value))
                .map(str::to_owned)
                .ok_or_else(|| bad_field(field))
        };
        let percent = |field: &str| {
            form.get(field)
                .and_then(|value| value.trim().parse::<f64>().ok())
                .filter(|value| value.is_finite())
                .ok_or_else(|| bad_field(field))
        };
        let (label, method, path, body) = match action {
            ["rollback"] => ("Rollback", Method::POST, format!("{api}/rollback"), None),
            ["pin"] => (
                "Pin",
                Method::POST,
                format!("{api}/pin"),
                Some(serde_json::json!({ "version": field("version")? })),
            ),
            ["unpin"] => ("Unpin", Method::DELETE, format!("{api}/pin"), None),
            ["canary", "start"] => (
                "Canary start",
                Method::POST,
                format!("{api}/canary"),
                Some(
                    serde_json::json!({ "canary": field("canary")?, "weight": percent("weight")? }),
                ),
            ),
            ["canary", "promote"] => (
                "Canary promotion",
                Method::POST,
                format!("{api}/canary/promote"),
                None,
            ),
            ["canary", "abort"] => (
                "Canary abort",
                Method::POST,
                format!("{api}/canary/abort"),
                None,
            ),
            ["canary", "forget"] => (
                "Forgetting the canary plan",
                Method::DELETE,
                format!("{api}/canary"),
                None,
            ),
            ["shadow", "start"] => (
                "Shadow start",
                Method::POST,
                format!("{api}/shadow"),
                Some(serde_json::json!({ "target": field("target")?, "share": percent("share")? })),
            ),
            ["shadow", "stop"] => ("Shadow stop", Method::DELETE, format!("{api}/shadow"), None),
            ["versions", version, "lift-quarantine"] if plain(version) => (
                "Lifting the quarantine",
                Method::POST,
                format!("{api}/versions/{version}/lift-quarantine"),
                None,
            ),
            _ => return Err(unknown_action()),
        };
        Ok(Self {
            adapter: name.to_owned(),
            label,
            method,
            path,
            body: body
                .map(|body| body.to_string().into_bytes())
                .unwrap_or_default(),
        })
    }
}

/// A name or version that can stand in a path as it is (the control route checks it
/// further): a letter or digit, then letters, digits, `-`, `_`, `.`, `+`; at most 128 bytes.
fn plain(text: &str) -> bool {
    text.as_bytes()
        .first()
        .is_some_and(u8::is_ascii_alphanumeric)
        && text.len() <= 128
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+'))
}

/// Refuses a POST another site's page sent: browsers say so in `Sec-Fetch-Site` and
/// `Origin`. (The CSRF token is the check that does not rely on the browser.)
fn same_origin(headers: &HeaderMap) -> Result<(), Refusal> {
    let cross = headers
        .get("sec-fetch-site")
        .is_some_and(|site| site != "same-origin" && site != "none");
    let origin_differs = match (headers.get(ORIGIN), headers.get(HOST)) {
        (Some(origin), Some(host)) => {
            origin.as_bytes() != format!("http://{}", host.to_str().unwrap_or("")).as_bytes()
                && origin.as_bytes()
                    != format!("https://{}", host.to_str().unwrap_or("")).as_bytes()
        }
        (Some(_), None) => true,
        _ => false,
    };
    if cross || origin_differs {
        return Err(Refusal {
            status: StatusCode::FORBIDDEN,
            title: "Refused",
            text: "The console accepts forms only from its own pages.".to_owned(),
        });
    }
    Ok(())
}

/// The readable part of a control route's JSON error.
async fn error_detail(answer: Response<Body>) -> String {
    let bytes = answer
        .into_body()
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|error| {
            error
                .get("detail")
                .or_else(|| error.get("error"))
                .and_then(|text| text.as_str().map(str::to_owned))
        })
        .unwrap_or_else(|| "the control plane refused it".to_owned())
}

fn encode_flash(ok: bool, text: &str) -> String {
    format!("{}{text}", if ok { '+' } else { '-' })
}

fn decode_flash(stored: String) -> Flash {
    match stored.strip_prefix('+') {
        Some(text) => Flash {
            ok: true,
            text: text.to_owned(),
        },
        None => Flash {
            ok: false,
            text: stored.trim_start_matches('-').to_owned(),
        },
    }
}

fn unknown_action() -> Refusal {
    Refusal {
        status: StatusCode::NOT_FOUND,
        title: "Not found",
        text: "The console has no such action.".to_owned(),
    }
}

fn bad_field(field: &str) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        title: "Not understood",
        text: format!("The form's {field} field is missing or not valid."),
    }
}

fn too_large() -> Refusal {
    Refusal {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        title: "Refused",
        text: format!("The form must be at most {} bytes.", form::MAX_FORM_BYTES),
    }
}

fn method_not_allowed() -> Refusal {
    Refusal {
        status: StatusCode::METHOD_NOT_ALLOWED,
        title: "Not allowed",
        text: "The console reads with GET and changes with POST only.".to_owned(),
    }
}

fn refusal_page(refusal: Refusal, shell: Option<&Shell<'_>>) -> Response<Body> {
    html(
        refusal.status,
        pages::message(refusal.title, &refusal.text, "/console", shell),
    )
}

/// An HTML answer with the console's security headers; never cached (it shows live state
/// and carries the session's CSRF token).
fn html(status: StatusCode, markup: Markup) -> Response<Body> {
    let mut response = Response::new(Body::new(Bytes::from(markup.into_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure(headers);
    response
}

/// Headers of every console answer. The referrer policy is `same-origin`, not
/// `no-referrer`: under the latter, browsers send `Origin: null` with the console's own
/// forms, which [`same_origin`] would refuse.
fn secure(headers: &mut HeaderMap) {
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// A 303 to `location`, setting `cookie` if given.
fn redirect(location: &str, cookie: Option<&str>) -> Response<Body> {
    let mut response = Response::new(Body::new(Bytes::new()));
    *response.status_mut() = StatusCode::SEE_OTHER;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(LOCATION, value);
    }
    if let Some(cookie) = cookie.and_then(|cookie| HeaderValue::from_str(cookie).ok()) {
        headers.insert(SET_COOKIE, cookie);
    }
    secure(headers);
    response
}

#[cfg(test)]
mod tests;
