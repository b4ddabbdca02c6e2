//! What operators see of an adapter or a shared module under their control: the version
//! devices get, the pin and whether it holds (and why not), each version's state.

use frontdoor_plugin_api::PluginKind;
use semver::Version;
use serde::Serialize;

use super::{
    Control,
    audit::AuditEntry,
    state_file::{AdapterControl, ControlState, LiftedQuarantine},
};
use crate::{
    error_response::EdgeError,
    registry::{Snapshot, VersionReport, VersionState},
    router::RoutingTable,
};

/// `GET /admin/adapters/{name}`, and the answer of every change to an adapter.
#[derive(Debug, Serialize)]
pub struct AdapterView {
    pub name: String,
    /// The team that owns it (`[admin_auth.owners]`), if any.
    pub owner: Option<String>,
    /// The version devices get without `x-frontdoor-version` right now (`null`: none).
    pub default: Option<String>,
    pub pin: Option<PinView>,
    pub disabled: Vec<String>,
    pub versions: Vec<VersionLine>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lifted_quarantines: Vec<LiftedQuarantine>,
}

/// `GET /admin/modules/{name}`, and the answer of every change to a module.
#[derive(Debug, Serialize)]
pub struct ModuleView {
    pub name: String,
    pub owner: Option<String>,
    pub pin: Option<PinView>,
    pub versions: Vec<VersionLine>,
}

/// An operator's pin and whether it holds now.
#[derive(Debug, Serialize)]
pub struct PinView {
    pub version: String,
    pub in_effect: bool,
    /// Why it does not hold (the normal rules apply meanwhile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct VersionLine {
    pub version: String,
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a shared module: the plugin versions bound to it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bound_by: Vec<String>,
}

/// `GET /admin/adapters`.
#[derive(Debug, Serialize)]
pub struct AdaptersView {
    pub adapters: Vec<AdapterView>,
}

/// `GET /admin/audit`.
#[derive(Debug, Serialize)]
pub struct AuditView {
    pub entries: Vec<AuditEntry>,
}

impl Control {
    pub(super) fn view_all(&self) -> AdaptersView {
        let state = self.lock();
        let snapshot = self.registry.snapshot();
        let table = self.registry.table();
        let mut names: Vec<String> = snapshot
            .versions
            .iter()
            .filter(|report| report.version.kind == PluginKind::Adapter)
            .map(|report| report.version.identity.name.clone())
            .chain(state.adapters.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        AdaptersView {
            adapters: names
                .iter()
                .map(|name| self.adapter_view_of(name, &state, &snapshot, &table))
                .collect(),
        }
    }

    /// The view of adapter `name`; 404 when nothing is loaded or decided under that name.
    pub(super) fn adapter_view(&self, name: &str) -> Result<AdapterView, EdgeError> {
        let state = self.lock();
        let snapshot = self.registry.snapshot();
        if versions_of(&snapshot, name, PluginKind::Adapter)
            .next()
            .is_none()
            && !state.adapters.contains_key(name)
        {
            return Err(EdgeError::not_found(format!("no adapter named {name}")));
        }
        Ok(self.adapter_view_of(name, &state, &snapshot, &self.registry.table()))
    }

    /// The view of shared module `name`; 404 when nothing is loaded or decided under it.
    pub(super) fn module_view(&self, name: &str) -> Result<ModuleView, EdgeError> {
        let state = self.lock();
        let snapshot = self.registry.snapshot();
        if versions_of(&snapshot, name, PluginKind::SharedModule)
            .next()
            .is_none()
            && !state.modules.contains_key(name)
        {
            return Err(EdgeError::not_found(format!(
                "no shared module named {name}"
            )));
        }
        Ok(self.module_view_of(name, &state, &snapshot))
    }

    pub(super) fn adapter_view_of(
        &self,
        name: &str,
        state: &ControlState,
        snapshot: &Snapshot,
        table: &RoutingTable,
    ) -> AdapterView {
        let control = state.adapters.get(name).cloned().unwrap_or_default();
        let default = table
            .adapter(name)
            .and_then(|adapter| adapter.select(None))
            .map(|routed| routed.version.identity.version.clone());
        let pin = control.pin.as_ref().map(|pin| {
            let reports: Vec<&VersionReport> =
                versions_of(snapshot, name, PluginKind::Adapter).collect();
            let in_effect = default.as_ref() == Some(pin);
            PinView {
                version: pin.to_string(),
                in_effect,
                reason: (!in_effect).then(|| why_not_serving(&reports, pin, &control)),
            }
        });
        AdapterView {
            name: name.to_owned(),
            owner: self.auth.owners.get(name).cloned(),
            default: default.map(|version| version.to_string()),
            pin,
            disabled: control.disabled.iter().map(ToString::to_string).collect(),
            versions: versions_of(snapshot, name, PluginKind::Adapter)
                .map(line)
                .collect(),
            lifted_quarantines: control.lifted_quarantines,
        }
    }

    pub(super) fn module_view_of(
        &self,
        name: &str,
        state: &ControlState,
        snapshot: &Snapshot,
    ) -> ModuleView {
        let reports: Vec<&VersionReport> =
            versions_of(snapshot, name, PluginKind::SharedModule).collect();
        let pin = state
            .modules
            .get(name)
            .and_then(|module| module.pin.as_ref())
            .map(|pin| {
                let usable = reports.iter().find(|report| {
                    report.version.identity.version == *pin
                        && matches!(report.state, VersionState::Active | VersionState::Standby)
                });
                PinView {
                    version: pin.to_string(),
                    in_effect: usable.is_some(),
                    reason: usable
                        .is_none()
                        .then(|| why_not_serving(&reports, pin, &AdapterControl::default())),
                }
            });
        ModuleView {
            name: name.to_owned(),
            owner: self.auth.owners.get(name).cloned(),
            pin,
            versions: reports.into_iter().map(line).collect(),
        }
    }
}

/// The versions of `name` of `kind` whose file is still there, highest first.
pub(super) fn versions_of<'a>(
    snapshot: &'a Snapshot,
    name: &'a str,
    kind: PluginKind,
) -> impl Iterator<Item = &'a VersionReport> {
    snapshot.versions.iter().filter(move |report| {
        report.version.kind == kind
            && report.version.identity.name == name
            && !report.version.is_removed()
    })
}

/// Why `version` is not what devices get (or what consumers may bind), in one line.
pub(super) fn why_not_serving(
    reports: &[&VersionReport],
    version: &Version,
    control: &AdapterControl,
) -> String {
    let fallback = "; the normal default applies";
    if control.disabled.contains(version) {
        return format!("{version} is disabled{fallback}");
    }
    match reports
        .iter()
        .find(|report| report.version.identity.version == *version)
    {
        None => format!("{version} is not loaded{fallback}"),
        Some(report) => match report.state {
            VersionState::Quarantined => format!(
                "{version} is quarantined ({}){fallback}",
                report.reason.as_deref().unwrap_or("no reason recorded")
            ),
            VersionState::Failed => format!(
                "{version} cannot serve ({}){fallback}",
                report.reason.as_deref().unwrap_or("no reason recorded")
            ),
            state => format!("{version} is {}{fallback}", state.as_str()),
        },
    }
}

fn line(report: &VersionReport) -> VersionLine {
    VersionLine {
        version: report.version.identity.version.to_string(),
        state: report.state.as_str(),
        reason: report.reason.clone(),
        bound_by: report.bound_by.clone(),
    }
}
