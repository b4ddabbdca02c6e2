//! The admin listener: `GET /admin/plugins`, `/admin/backends`, `/admin/listener`,
//! `/admin/health`, `/admin/requests[/{id}]`, `GET`/`PUT /admin/log-level`,
//! `GET`/`POST /admin/recycle` (`recycle/endpoint.rs`), and
//! `GET /metrics` (Prometheus); every request is authorized first, the control routes
//! answered by `control.rs` and traffic plans under `/admin/adapters/{name}/canary|shadow` by
//! `traffic/admin.rs`. `/console` is the web console (`console.rs`), which authorizes its
//! sessions through the same control plane.
//!
//! Served on its own address so operators can firewall it apart from device traffic, and on
//! its own thread and runtime (`server/admin_thread.rs`) so device traffic cannot starve it.

use std::{sync::Arc, time::UNIX_EPOCH};

use frontdoor_plugin_api::PluginKind;
use http_body_util::{BodyExt as _, Limited};
use hyper::{Method, Request, Response, StatusCode, body::Incoming};
use serde::Serialize;

use crate::{
    backends::{BackendView, Backends},
    console::{self, Console},
    containment::{HealthView, MemoryView, watchdog},
    control::Control,
    error_response::{Body, EdgeError, json_response},
    loader::CopiesStats,
    logging::LogControl,
    metrics::Exposition,
    recycle::{self, Recycler},
    registry::{Registry, Snapshot},
    requests::{Insight, endpoints as requests},
    server::Listeners,
};

/// What the admin API serves from: every part of the host it shows or changes.
pub struct Admin {
    pub registry: Arc<Registry>,
    pub backends: Arc<Backends>,
    pub listeners: Arc<Listeners>,
    pub log_control: Option<Arc<LogControl>>,
    /// Authorizes every request and answers the control routes (`control.rs`).
    pub control: Arc<Control>,
    pub exposition: Arc<Exposition>,
    pub insight: Arc<Insight>,
    /// `GET`/`POST /admin/recycle`.
    pub recycler: Arc<Recycler>,
    /// The web console, when the host serves one.
    pub console: Option<Arc<Console>>,
    /// Fleet mode's view of every host (`GET /admin/fleet`).
    pub fleet: Option<Arc<crate::fleet::Fleet>>,
}

impl Admin {
    pub async fn serve(&self, request: Request<Incoming>) -> Response<Body> {
        // The console authorizes by session, through the same control plane (`console.rs`).
        if let Some(console) = &self.console
            && console::is_console_path(request.uri().path())
        {
            return console.serve(request).await;
        }
        let request = match self.control.intercept(request).await {
            Ok(request) => request,
            Err(answered) => return answered,
        };
        match (request.method(), request.uri().path()) {
            (&Method::GET, "/admin/log-level") => match &self.log_control {
                Some(control) => json_response(
                    StatusCode::OK,
                    &LogLevelView {
                        directives: control.current(),
                        plugins_told: None,
                    },
                ),
                None => log_level_fixed(),
            },
            (&Method::PUT, "/admin/log-level") => self.set_log_level(request).await,
            (&Method::GET, "/admin/plugins") => json_response(
                StatusCode::OK,
                &plugins_view(
                    &self.registry.snapshot(),
                    self.registry.loader().copies_stats(),
                ),
            ),
            (&Method::GET, "/admin/health") => {
                let table = self.registry.table();
                json_response(
                    StatusCode::OK,
                    &Health {
                        status: "ok",
                        adapters: table.adapter_count(),
                        blocked_polls: watchdog::blocked_now(),
                        deployer_restarts: self.registry.deployer_restarts(),
                    },
                )
            }
            (&Method::GET, "/admin/backends") => json_response(
                StatusCode::OK,
                &BackendsView {
                    backends: self.backends.view(),
                },
            ),
            (&Method::GET, "/admin/requests") => {
                requests::list(&self.insight, request.uri().query())
            }
            (&Method::GET, path) if path.starts_with("/admin/requests/") => {
                requests::one(&self.insight, &path["/admin/requests/".len()..])
            }
            (_, "/admin/requests") => EdgeError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
                "use GET",
            )
            .into_response(),
            (_, "/admin/log-level") => EdgeError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
                "use GET or PUT",
            )
            .into_response(),
            (&Method::GET, "/admin/listener") => {
                json_response(StatusCode::OK, &self.listeners.view())
            }
            (_, "/admin/plugins" | "/admin/health" | "/admin/backends" | "/admin/listener") => {
                EdgeError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method not allowed",
                    "use GET",
                )
                .into_response()
            }
            (_, "/admin/recycle") => {
                recycle::endpoint::serve(&self.recycler, &self.control, request).await
            }
            (&Method::GET, "/admin/fleet") => match &self.fleet {
                Some(fleet) => json_response(StatusCode::OK, &fleet.view().await),
                None => EdgeError::not_found(
                    "this host is not in a fleet (no [fleet] table in its configuration)",
                )
                .into_response(),
            },
            (_, "/admin/fleet") => EdgeError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
                "/admin/fleet answers GET",
            )
            .into_response(),
            (&Method::GET, "/metrics") => self.exposition.response(),
            (_, "/metrics") => EdgeError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
                "use GET",
            )
            .into_response(),
            (_, path) => EdgeError::not_found(format!("no admin endpoint {path}")).into_response(),
        }
    }
}

impl Admin {
    /// `PUT /admin/log-level` with `tracing` directives as the body (`debug`,
    /// `info,plugin=trace`): the host's filter changes and every loaded plugin follows.
    async fn set_log_level(&self, request: Request<Incoming>) -> Response<Body> {
        let Some(control) = &self.log_control else {
            return log_level_fixed();
        };
        let body = match Limited::new(request.into_body(), 1024).collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return EdgeError::bad_request("the body must be at most 1024 bytes of directives")
                    .into_response();
            }
        };
        let Ok(directives) = std::str::from_utf8(&body) else {
            return EdgeError::bad_request("the directives are not UTF-8").into_response();
        };
        let directives = directives.trim();
        let registry = self.registry.clone();
        let control = control.clone();
        let owned = directives.to_owned();
        // Telling plugins calls into each loaded copy: off the admin runtime's thread.
        let outcome = tokio::task::spawn_blocking(move || control.set(&owned, &registry)).await;
        match outcome {
            Ok(Ok(told)) => {
                tracing::info!(%directives, plugins_told = told, "log filter changed");
                json_response(
                    StatusCode::OK,
                    &LogLevelView {
                        directives: directives.to_owned(),
                        plugins_told: Some(told),
                    },
                )
            }
            Ok(Err(reason)) => EdgeError::bad_request(format!(
                "{directives:?} are not valid log directives: {reason}"
            ))
            .into_response(),
            Err(_) => EdgeError::internal("changing the log filter failed").into_response(),
        }
    }
}

fn log_level_fixed() -> Response<Body> {
    EdgeError::new(
        StatusCode::NOT_IMPLEMENTED,
        "not implemented",
        "this host's log filter is set by the program embedding it",
    )
    .into_response()
}

/// The JSON document of `GET /admin/log-level`.
#[derive(Serialize)]
struct LogLevelView {
    directives: String,
    /// How many loaded plugin copies were told the new level (on a change).
    #[serde(skip_serializing_if = "Option::is_none")]
    plugins_told: Option<usize>,
}

/// The JSON document of `GET /admin/backends`.
#[derive(Serialize)]
struct BackendsView {
    backends: Vec<BackendView>,
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    adapters: usize,
    /// Polls of plugin code holding a thread longer than their limit right now.
    blocked_polls: Vec<watchdog::BlockedPoll>,
    /// Times the deployer thread panicked and was restarted.
    deployer_restarts: u64,
}

/// The JSON document of `GET /admin/plugins`.
#[derive(Serialize)]
pub struct PluginsView {
    pub plugins: Vec<PluginView>,
    /// Files that could not be deployed, with the reason (also listed under their plugin
    /// when the manifest could be read).
    pub failed: Vec<FailureView>,
    pub retired: RetiredView,
    /// The host's private copies of artifacts: its directory, the files in it now and their
    /// bytes (bounded: a copy is removed once its library is mapped, unless `keep_copies`).
    pub copies: CopiesStats,
    pub mapped: MappedView,
}

/// Libraries mapped into the process (never unloaded), refused ones included.
#[derive(Serialize)]
pub struct MappedView {
    pub count: usize,
    pub bytes: u64,
    /// `max_mapped_libraries`: past it, new loads are refused.
    pub limit: usize,
}

#[derive(Serialize)]
pub struct PluginView {
    pub name: String,
    pub kind: &'static str,
    pub versions: Vec<VersionView>,
}

#[derive(Serialize)]
pub struct VersionView {
    pub version: String,
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub file_bytes: u64,
    pub in_flight: usize,
    pub sdk_version: String,
    pub routes: Vec<RouteView>,
    /// Shared modules it needs, each with the version bound now.
    pub requires: Vec<RequirementView>,
    /// For a shared module: the plugin versions bound to it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bound_by: Vec<String>,
    pub loaded_at_unix_ms: u128,
    /// Requests, panics, timeouts, blocked polls and quarantine (absent for failed files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthView>,
    /// The last heap sample of this loaded copy (absent before the first sample).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryView>,
}

#[derive(Serialize)]
pub struct RouteView {
    pub method: String,
    pub path: String,
}

#[derive(Serialize)]
pub struct RequirementView {
    pub module: String,
    pub requirement: String,
    /// `name@version` of the module bound to it, `null` when unbound.
    pub bound: Option<String>,
}

#[derive(Serialize)]
pub struct FailureView {
    pub file: String,
    pub plugin: Option<String>,
    pub reason: String,
    pub at_unix_ms: u128,
}

#[derive(Serialize)]
pub struct RetiredView {
    /// Versions no longer routable whose code stays mapped.
    pub count: usize,
    /// Their artifact sizes, roughly their cost in resident memory.
    pub bytes: u64,
    pub limit: usize,
    /// More retired versions are mapped than `limit`: restart the host to reclaim them.
    pub over_limit: bool,
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn unix_ms(at: std::time::SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

fn kind_name(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Adapter => "adapter",
        PluginKind::SharedModule => "shared-module",
    }
}

/// The `GET /admin/plugins` document (the console reads the same).
pub(crate) fn plugins_view(snapshot: &Snapshot, copies: CopiesStats) -> PluginsView {
    let mut plugins: Vec<PluginView> = Vec::new();
    for report in &snapshot.versions {
        let version = &report.version;
        let view = VersionView {
            version: version.identity.version.to_string(),
            state: report.state.as_str(),
            reason: report.reason.clone(),
            file: version.source.as_deref().map(file_name),
            file_bytes: version.file_bytes,
            in_flight: version.in_flight(),
            sdk_version: version.sdk_version.clone(),
            routes: version
                .routes
                .iter()
                .map(|(method, pattern)| RouteView {
                    method: method.to_string(),
                    path: pattern.to_string(),
                })
                .collect(),
            requires: version
                .requires
                .iter()
                .zip(&report.bindings)
                .map(|(required, bound)| RequirementView {
                    module: required.module.clone(),
                    requirement: required.requirement.to_string(),
                    bound: bound.clone(),
                })
                .collect(),
            bound_by: report.bound_by.clone(),
            loaded_at_unix_ms: unix_ms(version.loaded_at),
            health: Some(version.health.view()),
            memory: version.health.memory_view(),
        };
        match plugins.iter_mut().find(|p| p.name == version.identity.name) {
            Some(plugin) => plugin.versions.push(view),
            None => plugins.push(PluginView {
                name: version.identity.name.clone(),
                kind: kind_name(version.kind),
                versions: vec![view],
            }),
        }
    }
    // A failed version with a readable manifest also appears under its plugin, so an
    // operator looking at `tv` sees that `tv@1.5.0` was refused and why.
    for failure in &snapshot.failures {
        let Some((name, version)) = failure
            .plugin
            .as_deref()
            .and_then(|label| label.split_once('@'))
        else {
            continue;
        };
        let view = VersionView {
            version: version.to_owned(),
            state: "failed",
            reason: Some(failure.reason.clone()),
            file: Some(file_name(&failure.file)),
            file_bytes: 0,
            in_flight: 0,
            sdk_version: String::new(),
            routes: Vec::new(),
            requires: Vec::new(),
            bound_by: Vec::new(),
            loaded_at_unix_ms: unix_ms(failure.at),
            health: None,
            memory: None,
        };
        match plugins.iter_mut().find(|p| p.name == name) {
            Some(plugin) => plugin.versions.push(view),
            None => plugins.push(PluginView {
                name: name.to_owned(),
                kind: "unknown",
                versions: vec![view],
            }),
        }
    }
    PluginsView {
        plugins,
        failed: snapshot
            .failures
            .iter()
            .map(|failure| FailureView {
                file: file_name(&failure.file),
                plugin: failure.plugin.clone(),
                reason: failure.reason.clone(),
                at_unix_ms: unix_ms(failure.at),
            })
            .collect(),
        retired: RetiredView {
            count: snapshot.retired_count,
            bytes: snapshot.retired_bytes,
            limit: snapshot.retired_limit,
            over_limit: snapshot.retired_count > snapshot.retired_limit,
        },
        mapped: MappedView {
            count: snapshot.mapped.count,
            bytes: snapshot.mapped.bytes,
            limit: snapshot.mapped_limit,
        },
        copies,
    }
}
