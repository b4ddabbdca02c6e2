//! The changes operators make: each is checked against what is loaded, saved to the state
//! file, applied to the registry (which republishes), and recorded in the audit log, in
//! that order; a change that cannot be saved is not applied.
//!
//! **Rollback** pins the version that was the default before the current one (the registry
//! notes it whenever a publication changes an adapter's default: a deploy, a removal, a pin,
//! a disable) when it is lower than the one devices get now and can still serve; otherwise
//! the next version down: the highest lower version that can serve (loaded, not disabled,
//! not quarantined, bound). Repeated, it steps further down (never back up: after a
//! rollback the previous default is the higher version rolled back from); `unpin` returns to
//! the normal default.

use std::time::{SystemTime, UNIX_EPOCH};

use frontdoor_plugin_api::PluginKind;
use hyper::StatusCode;
use semver::Version;
use serde_json::json;

use super::{
    Caller, Control,
    state_file::{ControlState, LiftedQuarantine},
    view::{self, versions_of},
};
use crate::{
    error_response::EdgeError,
    registry::{VersionReport, VersionState},
};

/// One change to an adapter (or, `Module*`, to a shared module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    Pin(Version),
    Unpin,
    Rollback,
    Disable(Version),
    Enable(Version),
    LiftQuarantine(Version),
    ModulePin(Version),
    ModuleUnpin,
}

impl Operation {
    /// Its name in the audit log.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pin(_) => "pin",
            Self::Unpin => "unpin",
            Self::Rollback => "rollback",
            Self::Disable(_) => "disable",
            Self::Enable(_) => "enable",
            Self::LiftQuarantine(_) => "lift-quarantine",
            Self::ModulePin(_) => "module-pin",
            Self::ModuleUnpin => "module-unpin",
        }
    }

    fn kind(&self) -> PluginKind {
        match self {
            Self::ModulePin(_) | Self::ModuleUnpin => PluginKind::SharedModule,
            _ => PluginKind::Adapter,
        }
    }
}

impl Control {
    /// Makes `operation` on `name` for `caller` (already authorized for it) and answers the
    /// resulting view of that adapter or module. Blocking: it saves with fsync.
    pub fn apply(
        &self,
        caller: &Caller,
        name: &str,
        operation: Operation,
    ) -> Result<serde_json::Value, EdgeError> {
        let mut state = self.lock();
        // Under the lock that `hold_changes` takes: a change is either saved before a
        // successor reads the state file or refused.
        self.refuse_if_held()?;
        let snapshot = self.registry.snapshot();
        let kind = operation.kind();
        let reports: Vec<&VersionReport> = versions_of(&snapshot, name, kind).collect();
        let known = match kind {
            PluginKind::Adapter => state.adapters.contains_key(name),
            PluginKind::SharedModule => state.modules.contains_key(name),
        };
        if reports.is_empty() && !known {
            let what = match kind {
                PluginKind::Adapter => "adapter",
                PluginKind::SharedModule => "shared module",
            };
            return Err(EdgeError::not_found(format!("no {what} named {name}")));
        }

        let mut next = state.clone();
        let mut lift = None;
        let mut target = format!("{} {name}", kind_word(kind));
        match &operation {
            Operation::Pin(version) => {
                let control = next.adapters.entry(name.to_owned()).or_default();
                can_serve(&reports, name, version, &control.disabled)?;
                control.pin = Some(version.clone());
            }
            Operation::Unpin => next.adapters.entry(name.to_owned()).or_default().pin = None,
            Operation::Rollback => {
                let table = self.registry.table();
                let current = table
                    .adapter(name)
                    .and_then(|adapter| adapter.select(None))
                    .map(|routed| routed.version.identity.version.clone())
                    .ok_or_else(|| {
                        conflict(format!(
                            "{name} serves no version now: nothing to roll back from"
                        ))
                    })?;
                let control = next.adapters.entry(name.to_owned()).or_default();
                let before = self.registry.previous_default(name);
                let previous = before
                    .iter()
                    .chain(reports.iter().map(|report| &report.version.identity.version))
                    .filter(|version| *version < &current)
                    .find(|version| can_serve(&reports, name, version, &control.disabled).is_ok())
                    .ok_or_else(|| {
                        conflict(format!(
                            "no version of {name} lower than {current} can serve: nothing to roll back to"
                        ))
                    })?;
                control.pin = Some(previous.clone());
            }
            Operation::Disable(version) => {
                target = format!("adapter {name}@{version}");
                if !reports
                    .iter()
                    .any(|report| report.version.identity.version == *version)
                {
                    return Err(not_loaded(name, version));
                }
                next.adapters
                    .entry(name.to_owned())
                    .or_default()
                    .disabled
                    .insert(version.clone());
            }
            Operation::Enable(version) => {
                target = format!("adapter {name}@{version}");
                next.adapters
                    .entry(name.to_owned())
                    .or_default()
                    .disabled
                    .remove(version);
            }
            Operation::LiftQuarantine(version) => {
                target = format!("adapter {name}@{version}");
                let report = reports
                    .iter()
                    .find(|report| report.version.identity.version == *version)
                    .ok_or_else(|| not_loaded(name, version))?;
                let reason = report
                    .version
                    .health
                    .quarantine_reason()
                    .ok_or_else(|| conflict(format!("{name}@{version} is not quarantined")))?;
                next.adapters
                    .entry(name.to_owned())
                    .or_default()
                    .remember_lift(LiftedQuarantine {
                        version: version.clone(),
                        reason,
                        team: caller.team.clone(),
                        at_unix_ms: now_ms(),
                    });
                lift = Some(report.version.clone());
            }
            Operation::ModulePin(version) => {
                let report = reports
                    .iter()
                    .find(|report| report.version.identity.version == *version)
                    .ok_or_else(|| {
                        conflict(format!(
                            "shared module {name}@{version} is not loaded (loaded: {})",
                            loaded_list(&reports)
                        ))
                    })?;
                if !matches!(report.state, VersionState::Active | VersionState::Standby) {
                    return Err(conflict(format!(
                        "shared module {name}@{version} is {} and cannot be bound",
                        report.state.as_str()
                    )));
                }
                next.modules.entry(name.to_owned()).or_default().pin = Some(version.clone());
            }
            Operation::ModuleUnpin => next.modules.entry(name.to_owned()).or_default().pin = None,
        }
        next.prune();

        let before = section(&state, kind, name);
        let after = section(&next, kind, name);
        if next != *state {
            // Fleet mode: the fleet's copy first, so no host decides alone.
            if let Some(shared) = self.shared.get() {
                shared.publish(&next)?;
            }
            self.store.save(&next).map_err(|error| {
                tracing::error!(%error, "an operator's change was not applied");
                EdgeError::internal("the change could not be saved; nothing was changed")
            })?;
            *state = next;
            self.registry.set_policy(state.policy());
        }
        let (before, after) = match &lift {
            Some(version) => {
                let reason = version.health.lift_quarantine();
                // The quarantine's end changes defaults and bindings: publish again.
                self.registry.republish();
                (
                    json!({ "quarantined": reason }),
                    json!({ "quarantined": null }),
                )
            }
            None => (before, after),
        };
        self.audit
            .record(&caller.team, operation.name(), &target, before, after);

        let snapshot = self.registry.snapshot();
        let answer = match kind {
            PluginKind::Adapter => serde_json::to_value(self.adapter_view_of(
                name,
                &state,
                &snapshot,
                &self.registry.table(),
            )),
            PluginKind::SharedModule => {
                serde_json::to_value(self.module_view_of(name, &state, &snapshot))
            }
        };
        answer.map_err(|_| EdgeError::internal("the view could not be written"))
    }
}

/// Refuses (409) a version that is not loaded or cannot take the default traffic.
fn can_serve(
    reports: &[&VersionReport],
    name: &str,
    version: &Version,
    disabled: &std::collections::BTreeSet<Version>,
) -> Result<(), EdgeError> {
    let Some(report) = reports
        .iter()
        .find(|report| report.version.identity.version == *version)
    else {
        return Err(not_loaded(name, version));
    };
    if disabled.contains(version) {
        return Err(conflict(format!(
            "{name}@{version} is disabled: enable it first"
        )));
    }
    match report.state {
        VersionState::Active | VersionState::Standby => Ok(()),
        VersionState::Quarantined => Err(conflict(format!(
            "{name}@{version} is quarantined ({}): lift the quarantine first",
            report.reason.as_deref().unwrap_or("no reason recorded")
        ))),
        _ => Err(conflict(view::why_not_serving(
            reports,
            version,
            &Default::default(),
        ))),
    }
}

fn not_loaded(name: &str, version: &Version) -> EdgeError {
    conflict(format!("{name}@{version} is not loaded"))
}

fn loaded_list(reports: &[&VersionReport]) -> String {
    let versions: Vec<String> = reports
        .iter()
        .map(|report| report.version.identity.version.to_string())
        .collect();
    if versions.is_empty() {
        "none".to_owned()
    } else {
        versions.join(", ")
    }
}

fn conflict(detail: String) -> EdgeError {
    EdgeError::new(StatusCode::CONFLICT, "conflict", detail)
}

/// What the state says about one adapter or module, for the audit log.
fn section(state: &ControlState, kind: PluginKind, name: &str) -> serde_json::Value {
    let value = match kind {
        PluginKind::Adapter => state
            .adapters
            .get(name)
            .map(|control| json!({ "pin": control.pin, "disabled": control.disabled })),
        PluginKind::SharedModule => state
            .modules
            .get(name)
            .map(|control| json!({ "pin": control.pin })),
    };
    value.unwrap_or_else(|| json!({}))
}

fn kind_word(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Adapter => "adapter",
        PluginKind::SharedModule => "module",
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis())
}
