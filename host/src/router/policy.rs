//! What operators decided about routing (pins, disabled versions, module pins), as the
//! registry folds it into every publication: the request path never reads it.

use std::collections::{BTreeMap, BTreeSet};

use semver::Version;

/// Operators' overrides of the default routing and binding rules. Built by the control
/// plane from its state file and handed to the registry, which applies it when it builds a
/// routing table; so a pin or a disable costs a request nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorPolicy {
    /// Adapter name → the version devices get without `x-frontdoor-version`, while that
    /// version is routable and healthy.
    pub adapter_pins: BTreeMap<String, Version>,
    /// Adapter name → versions that take no traffic at all.
    pub disabled: BTreeMap<String, BTreeSet<Version>>,
    /// Shared-module name → the version consumers bind to when their requirement allows it.
    pub module_pins: BTreeMap<String, Version>,
}

impl OperatorPolicy {
    /// True when operators took `name@version` out of traffic.
    pub fn is_disabled(&self, name: &str, version: &Version) -> bool {
        self.disabled
            .get(name)
            .is_some_and(|versions| versions.contains(version))
    }
}
