//! What the console shows, gathered from the host's own views: `/admin/plugins` (versions,
//! states, bindings, refusals), the control plane's adapter views (default, pin, owner),
//! the traffic plans (shares, verdicts, shadow reports), the sampled history (rates and
//! latencies), the backends and the recent requests. Plain data, so the pages render from
//! values a test can make up, hostile ones included.

use crate::{
    admin::{PluginsView, VersionView},
    backends::BackendView,
    control::{audit::AuditEntry, view::AdapterView},
    requests::{RecentRequest, RequestFilter},
    traffic::{CanaryView, ShadowView, TrafficState, canary::Phase},
};

use super::history::{History, Point};

/// The overview page.
#[derive(Debug, Default)]
pub struct Overview {
    pub adapters: Vec<PluginRow>,
    pub modules: Vec<PluginRow>,
    pub refused: Vec<Refusal>,
}

/// One adapter or shared module.
#[derive(Debug, Default, Clone)]
pub struct PluginRow {
    pub name: String,
    pub owner: Option<String>,
    /// The version devices get without a version header (adapters).
    pub default: Option<String>,
    /// An operator's pin, and whether it holds.
    pub pin: Option<(String, bool)>,
    pub versions: Vec<VersionRow>,
}

/// One version of it.
#[derive(Debug, Default, Clone)]
pub struct VersionRow {
    pub version: String,
    pub state: String,
    pub reason: Option<String>,
    /// Its share of default traffic, in percent (adapters).
    pub share: Option<f64>,
    /// The last sampled interval.
    pub latest: Option<Point>,
    pub in_flight: usize,
    pub heap_bytes: Option<u64>,
    /// `(module, requirement, bound name@version)`.
    pub requires: Vec<(String, String, Option<String>)>,
    pub bound_by: Vec<String>,
}

/// A file that was refused.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub file: String,
    pub plugin: Option<String>,
    pub reason: String,
}

/// The page of one adapter.
#[derive(Debug, Default)]
pub struct AdapterPage {
    pub row: PluginRow,
    /// Each version's sampled history, oldest first.
    pub history: Vec<(String, Vec<Point>)>,
    pub canary: Option<CanaryView>,
    pub shadow: Option<ShadowView>,
    /// Recent requests answered with an error or with a failed backend call, newest first.
    pub failing: Vec<RecentRequest>,
}

/// How many failing requests an adapter page lists.
pub const FAILING_SHOWN: usize = 20;

/// Builds the overview from the host's views.
pub fn overview(
    plugins: &PluginsView,
    adapters: &[AdapterView],
    owner_of: &dyn Fn(&str) -> Option<String>,
    traffic: &TrafficState,
    history: &History,
) -> Overview {
    let mut overview = Overview::default();
    for plugin in &plugins.plugins {
        let control = adapters.iter().find(|view| view.name == plugin.name);
        let row = PluginRow {
            name: plugin.name.clone(),
            owner: owner_of(&plugin.name),
            default: control.and_then(|view| view.default.clone()),
            pin: control
                .and_then(|view| view.pin.as_ref())
                .map(|pin| (pin.version.clone(), pin.in_effect)),
            versions: plugin
                .versions
                .iter()
                .map(|version| {
                    version_row(
                        &plugin.name,
                        version,
                        control.and_then(|view| view.default.as_deref()),
                        traffic,
                        history,
                    )
                })
                .collect(),
        };
        if plugin.kind == "shared-module" {
            overview.modules.push(row);
        } else {
            overview.adapters.push(row);
        }
    }
    overview.refused = plugins
        .failed
        .iter()
        .map(|failure| Refusal {
            file: failure.file.clone(),
            plugin: failure.plugin.clone(),
            reason: failure.reason.clone(),
        })
        .collect();
    overview
}

fn version_row(
    name: &str,
    version: &VersionView,
    default: Option<&str>,
    traffic: &TrafficState,
    history: &History,
) -> VersionRow {
    VersionRow {
        version: version.version.clone(),
        state: version.state.to_owned(),
        reason: version.reason.clone(),
        share: share(name, &version.version, default, traffic),
        latest: history.latest(&format!("{name}@{}", version.version)),
        in_flight: version.in_flight,
        heap_bytes: version.memory.as_ref().map(|memory| memory.live_bytes),
        requires: version
            .requires
            .iter()
            .map(|required| {
                (
                    required.module.clone(),
                    required.requirement.clone(),
                    required.bound.clone(),
                )
            })
            .collect(),
        bound_by: version.bound_by.clone(),
    }
}

/// The share of default traffic `version` of `name` gets: a running canary's weight and
/// its complement for the baseline; otherwise all of it for the default.
fn share(name: &str, version: &str, default: Option<&str>, traffic: &TrafficState) -> Option<f64> {
    if let Some(plan) = traffic.canaries.get(name)
        && plan.phase == Phase::Running
    {
        if plan.settings.canary == version {
            return Some(plan.weight);
        }
        if plan.settings.baseline == version {
            return Some(100.0 - plan.weight);
        }
        return Some(0.0);
    }
    default.map(|default| if default == version { 100.0 } else { 0.0 })
}

/// The recent requests of `adapter` worth an operator's look: errors and failed calls.
pub fn failing(requests: Vec<RecentRequest>) -> Vec<RecentRequest> {
    requests
        .into_iter()
        .filter(|request| {
            request.status >= 400 || request.calls.iter().any(|call| call.outcome != "ok")
        })
        .take(FAILING_SHOWN)
        .collect()
}

/// The filter that lists an adapter's kept requests for [`failing`].
pub fn recent_filter(adapter: &str) -> RequestFilter {
    RequestFilter {
        adapter: Some(adapter.to_owned()),
        status: None,
        limit: 1000,
    }
}

/// The backends page.
#[derive(Debug, Default)]
pub struct BackendsPage {
    pub backends: Vec<BackendView>,
}

/// The audit page, newest first.
#[derive(Debug, Default)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
}
