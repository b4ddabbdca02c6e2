//! Validates what a plugin says about itself before anything routes to it.

use frontdoor_plugin_api::{ABI_VERSION, ABI_VERSION_INIT, Manifest, PanicStrategy, PluginKind};
use hyper::Method;

use super::LoadError;
use crate::router::RoutePattern;

/// A manifest that passed every check, in host types.
#[derive(Debug, Clone)]
pub struct ValidManifest {
    pub name: String,
    pub version: semver::Version,
    pub kind: PluginKind,
    pub sdk_version: String,
    pub routes: Vec<ValidRoute>,
    pub requires: Vec<ValidRequirement>,
}

/// A requirement on a shared module, with the interface layout the plugin was built against.
#[derive(Debug, Clone)]
pub struct ValidRequirement {
    pub module: String,
    pub requirement: semver::VersionReq,
    pub interface: &'static abi_stable::type_layout::TypeLayout,
}

/// One route of an adapter; its position in [`ValidManifest::routes`] is the route id.
#[derive(Debug, Clone)]
pub struct ValidRoute {
    pub method: Method,
    pub pattern: RoutePattern,
}

pub(super) fn validate(raw: &Manifest) -> Result<ValidManifest, LoadError> {
    let invalid = |reason: String| LoadError::InvalidManifest(reason);
    // v3 is v2 with an init hook the host must run (ADR 0006): this host runs it.
    if !(ABI_VERSION..=ABI_VERSION_INIT).contains(&raw.abi_version) {
        return Err(LoadError::IncompatibleApi(format!(
            "built against Frontdoor ABI v{}, this host speaks v{ABI_VERSION} and v{ABI_VERSION_INIT}",
            raw.abi_version
        )));
    }
    // A plugin built with `panic = "abort"` turns every `catch_unwind` of the SDK into a
    // no-op: its first panic would end the host, so it is never let in.
    if raw.panic_strategy != PanicStrategy::Unwind {
        return Err(LoadError::PanicAbort);
    }
    let name = raw.name.as_str();
    check_name(name).map_err(invalid)?;
    let version = semver::Version::parse(raw.version.as_str()).map_err(|error| {
        invalid(format!(
            "version {:?} is not semver: {error}",
            raw.version.as_str()
        ))
    })?;

    let mut routes: Vec<ValidRoute> = Vec::with_capacity(raw.routes.len());
    for spec in raw.routes.iter() {
        // The SDK's own list (`export_adapter!` refuses the rest at compile time).
        let method = Some(spec.method.as_str())
            .filter(|method| frontdoor_plugin_api::route::is_method(method))
            .and_then(|method| Method::from_bytes(method.as_bytes()).ok())
            .ok_or_else(|| {
                invalid(format!(
                    "route method {:?} is not supported",
                    spec.method.as_str()
                ))
            })?;
        let pattern = RoutePattern::parse(spec.path.as_str())
            .map_err(|reason| invalid(format!("route {:?}: {reason}", spec.path.as_str())))?;
        if routes
            .iter()
            .any(|r| r.method == method && r.pattern.same_shape(&pattern))
        {
            return Err(invalid(format!(
                "route {method} {} is declared twice",
                spec.path.as_str()
            )));
        }
        routes.push(ValidRoute { method, pattern });
    }
    match raw.kind {
        PluginKind::Adapter if routes.is_empty() => {
            return Err(invalid("an adapter must declare at least one route".into()));
        }
        PluginKind::SharedModule if !routes.is_empty() => {
            return Err(invalid("a shared module cannot serve routes".into()));
        }
        _ => {}
    }

    let requires = raw
        .requires
        .iter()
        .map(|req| {
            check_name(req.module.as_str()).map_err(invalid)?;
            let requirement =
                semver::VersionReq::parse(req.requirement.as_str()).map_err(|error| {
                    invalid(format!(
                        "requirement {:?} on {} is not semver: {error}",
                        req.requirement.as_str(),
                        req.module.as_str()
                    ))
                })?;
            Ok(ValidRequirement {
                module: req.module.to_string(),
                requirement,
                interface: req.interface,
            })
        })
        .collect::<Result<Vec<_>, LoadError>>()?;

    Ok(ValidManifest {
        name: name.to_owned(),
        version,
        kind: raw.kind,
        sdk_version: raw.sdk_version.to_string(),
        routes,
        requires,
    })
}

/// Plugin names become the first path segment: lower-case letters, digits, `-` and `_`.
pub fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if valid {
        Ok(())
    } else {
        Err(format!(
            "name {name:?} must be 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit"
        ))
    }
}

#[cfg(test)]
mod tests;
