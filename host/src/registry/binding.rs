//! Semver binding of requirements to shared-module versions.
//!
//! Each time the registry publishes, every loaded plugin version's requirements are resolved
//! afresh: to the highest live version of the module that satisfies the semver requirement,
//! exports an interface whose layout is compatible with what the consumer was compiled
//! against (a verdict made beforehand, [`layout_checks`]), and can itself be bound. A newer
//! compatible version therefore rebinds consumers for new requests ("dynamic binding"); an
//! exact requirement never moves, at any depth: each module's own requirements are resolved
//! the same way, and [`sets`] hands every module its own bindings with each call. When no
//! live version fits, a consumer keeps the version it was bound to, even if that version's
//! file is gone: **a module stays loaded while anything is bound to it.**
//!
//! A publication that changes no shared module (a deploy, removal or quarantine of an
//! adapter, an adapter pin) resolves only the versions that are new to it: the others'
//! outcomes and binding trees are carried over ([`ModuleLandscape`]).

mod by_address;
mod landscape;
mod layout_checks;
pub(super) mod sets;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
};

use frontdoor_plugin_api::{CheckedInterface, PluginKind};

use by_address::ByAddress;
use landscape::ModuleLandscape;
pub use layout_checks::{Interfaces, LayoutChecks, run as run_layout_checks};
pub use sets::BindingSets;
use sets::{Bound, BuiltSets};

use super::PluginVersion;
use crate::loader::ValidRequirement;

/// One requirement bound to one module version, with the proof that the module's table
/// serves the consumer's interface.
#[derive(Clone)]
pub struct Binding {
    pub module: Arc<PluginVersion>,
    pub interface: CheckedInterface,
}

/// The bindings of every plugin version at one publication.
#[derive(Default)]
pub struct Resolution {
    /// Bindings in requirement order, for every version whose requirements all resolved.
    bound: ByAddress<Arc<[Binding]>>,
    /// The reason, for versions whose requirements did not.
    unresolved: ByAddress<String>,
    /// Every layout verdict so far, carried from one resolution to the next.
    layout_checks: LayoutChecks,
    /// What the outcomes depended on besides each version's own requirements.
    landscape: ModuleLandscape,
    /// Every version resolved here. Outcomes are keyed by address: holding the versions
    /// keeps a new version from taking the address of one whose outcome may be carried.
    #[allow(
        dead_code,
        reason = "held, never read: its job is to keep the versions alive"
    )]
    resolved: Vec<Arc<PluginVersion>>,
    /// The binding trees built from these outcomes (by [`BindingSets`]), carried over with
    /// them.
    sets: BuiltSets,
    /// The tree of a version that requires nothing, one for every publication.
    nothing: Bound,
    /// True when the outcomes of the previous resolution were carried over (its modules are
    /// unchanged); then only `fresh` versions were resolved.
    carried: bool,
    /// The versions resolved here rather than carried over: the only ones whose outcome
    /// may differ from the previous resolution's.
    fresh: Vec<Arc<PluginVersion>>,
}

fn key(version: &PluginVersion) -> usize {
    std::ptr::from_ref(version) as usize
}

impl Resolution {
    /// The bindings of `version` (empty when it requires nothing); `None` if unresolved.
    pub fn bindings(&self, version: &PluginVersion) -> Option<&Arc<[Binding]>> {
        self.bound.get(&key(version))
    }

    /// Why `version`'s requirements could not be bound, if they could not.
    pub fn unresolved(&self, version: &PluginVersion) -> Option<&str> {
        self.unresolved.get(&key(version)).map(String::as_str)
    }

    pub fn layout_checks(&self) -> &LayoutChecks {
        &self.layout_checks
    }

    pub fn layout_checks_mut(&mut self) -> &mut LayoutChecks {
        &mut self.layout_checks
    }

    /// True when the previous resolution's outcomes were carried over, so that only
    /// [`Resolution::fresh`] versions may be bound otherwise than before.
    pub fn carried(&self) -> bool {
        self.carried
    }

    /// The versions resolved afresh (all of them unless [`Resolution::carried`]).
    pub fn fresh(&self) -> &[Arc<PluginVersion>] {
        &self.fresh
    }

    /// Keeps the binding trees built from this resolution, to carry them over with its
    /// outcomes.
    pub fn keep_sets(&mut self, sets: BuiltSets) {
        self.sets = sets;
    }

    /// The labels of the versions bound to `module`.
    pub fn bound_by(&self, module: &PluginVersion, versions: &[Arc<PluginVersion>]) -> Vec<String> {
        versions
            .iter()
            .filter(|consumer| {
                self.bindings(consumer).is_some_and(|bindings| {
                    bindings
                        .iter()
                        .any(|b| std::ptr::eq(Arc::as_ptr(&b.module), module))
                })
            })
            .map(|consumer| consumer.identity.label.clone())
            .collect()
    }
}

/// Resolves the requirements of every version in `versions` (the live ones, plus removed
/// shared modules that may still be bound), given the previous resolution, whose layout
/// verdicts move into the new one.
///
/// `pins` (module name → version) put an operator's choice first among the candidates that
/// satisfy a requirement; a pinned version that does not fit is simply not chosen.
pub fn resolve(
    versions: &[Arc<PluginVersion>],
    previous: &mut Resolution,
    pins: &BTreeMap<String, semver::Version>,
) -> Resolution {
    let layout_checks = std::mem::take(&mut previous.layout_checks);
    let landscape = ModuleLandscape::of(versions, pins);
    // Unchanged modules, unchanged outcomes: every version bound last time keeps its
    // bindings, and its binding tree, and only the others are resolved (against the carried
    // outcomes of the modules). A layout verdict recorded since then concerns a newcomer
    // only: every pair a version can bind is checked before it or the module is published.
    let carried = landscape == previous.landscape;
    let mut done = ByAddress::default();
    let mut sets = BuiltSets::default();
    if carried {
        // Only the versions given now: an address held by no resolution any more may
        // have been reused.
        for version in versions {
            let version_key = key(version);
            // Versions that could not be bound are resolved again: few, and the reason
            // may read otherwise.
            if let Some(bindings) = previous.bound.get(&version_key) {
                done.insert(version_key, Ok(bindings.clone()));
            }
            if let Some(set) = previous.sets.get(&version_key) {
                sets.insert(version_key, set.clone());
            }
        }
    }
    let mut modules: HashMap<&str, Vec<Arc<PluginVersion>>> = HashMap::new();
    for version in versions {
        if version.kind == PluginKind::SharedModule && !version.is_removed() {
            modules
                .entry(version.identity.name.as_str())
                .or_default()
                .push(version.clone());
        }
    }
    let mut resolver = Resolver {
        modules,
        pins,
        previous,
        done,
        fresh: Vec::new(),
        layout_checks: &layout_checks,
    };
    for version in versions {
        let _ = resolver.resolve(version, &mut Vec::new());
    }
    let (done, fresh) = (resolver.done, resolver.fresh);
    let mut resolution = Resolution {
        layout_checks,
        landscape,
        resolved: versions.to_vec(),
        sets,
        nothing: previous.nothing.clone(),
        carried,
        fresh,
        ..Resolution::default()
    };
    for (version_key, outcome) in done {
        match outcome {
            Ok(bindings) => {
                resolution.bound.insert(version_key, bindings);
            }
            Err(reason) => {
                resolution.unresolved.insert(version_key, reason);
            }
        }
    }
    resolution
}

struct Resolver<'a> {
    /// The live versions of each shared module, in the order they were given.
    modules: HashMap<&'a str, Vec<Arc<PluginVersion>>>,
    pins: &'a BTreeMap<String, semver::Version>,
    previous: &'a Resolution,
    done: ByAddress<Result<Arc<[Binding]>, String>>,
    /// The versions resolved (not carried over), in the order they were.
    fresh: Vec<Arc<PluginVersion>>,
    layout_checks: &'a LayoutChecks,
}

impl Resolver<'_> {
    /// Resolves one version; `stack` holds the modules being resolved above it, to refuse
    /// cycles instead of recursing forever.
    fn resolve(
        &mut self,
        version: &Arc<PluginVersion>,
        stack: &mut Vec<Arc<PluginVersion>>,
    ) -> Result<Arc<[Binding]>, String> {
        if let Some(outcome) = self.done.get(&key(version)) {
            return outcome.clone();
        }
        if let Some(start) = stack.iter().position(|v| Arc::ptr_eq(v, version)) {
            let chain: Vec<&str> = stack[start..]
                .iter()
                .chain(std::iter::once(version))
                .map(|v| v.identity.label.as_str())
                .collect();
            return Err(format!(
                "{} is a cycle: a module cannot require itself",
                chain.join(" → ")
            ));
        }
        stack.push(version.clone());
        let mut bindings = Vec::with_capacity(version.requires.len());
        let mut outcome = Ok(());
        for (index, requirement) in version.requires.iter().enumerate() {
            match self.bind(version, index, requirement, stack) {
                Ok(binding) => bindings.push(binding),
                Err(reason) => {
                    outcome = Err(format!(
                        "requires {} {}: {reason}",
                        requirement.module, requirement.requirement
                    ));
                    break;
                }
            }
        }
        stack.pop();
        let outcome = outcome.map(|()| Arc::<[Binding]>::from(bindings));
        self.done.insert(key(version), outcome.clone());
        self.fresh.push(version.clone());
        outcome
    }

    fn bind(
        &mut self,
        consumer: &Arc<PluginVersion>,
        index: usize,
        requirement: &ValidRequirement,
        stack: &mut Vec<Arc<PluginVersion>>,
    ) -> Result<Binding, String> {
        let named: Vec<Arc<PluginVersion>> = self
            .modules
            .get(requirement.module.as_str())
            .cloned()
            .unwrap_or_default();
        let mut candidates: Vec<Arc<PluginVersion>> = named
            .iter()
            .filter(|v| requirement.requirement.matches(&v.identity.version))
            .cloned()
            .collect();
        candidates.sort_by(|a, b| b.identity.version.cmp_precedence(&a.identity.version));
        if let Some(pin) = self.pins.get(&requirement.module)
            && let Some(at) = candidates.iter().position(|v| v.identity.version == *pin)
        {
            let pinned = candidates.remove(at);
            candidates.insert(0, pinned);
        }

        let mut refusals = Vec::new();
        for candidate in &candidates {
            // A quarantined module takes no new consumers; those already bound to it keep it
            // (below) when nothing healthy fits, since its panics only cost the calls.
            if candidate.health.is_quarantined() {
                refusals.push(format!("{}: quarantined", candidate.identity.label));
                continue;
            }
            match self.try_candidate(requirement, candidate, stack) {
                Ok(binding) => return Ok(binding),
                Err(reason) => refusals.push(format!("{}: {reason}", candidate.identity.label)),
            }
        }
        // Nothing live fits: keep what this consumer was bound to, if anything.
        if let Some(kept) = self
            .previous
            .bindings(consumer)
            .and_then(|previous| previous.get(index))
            .filter(|kept| kept.module.identity.name == requirement.module)
        {
            return Ok(kept.clone());
        }
        Err(if named.is_empty() {
            format!("no shared module named {} is loaded", requirement.module)
        } else if candidates.is_empty() {
            let mut loaded: Vec<&PluginVersion> = named.iter().map(AsRef::as_ref).collect();
            loaded.sort_by(|a, b| b.identity.version.cmp_precedence(&a.identity.version));
            let loaded: Vec<String> = loaded
                .iter()
                .map(|v| v.identity.version.to_string())
                .collect();
            format!(
                "no loaded version satisfies it (loaded: {})",
                loaded.join(", ")
            )
        } else {
            refusals.join("; ")
        })
    }

    fn try_candidate(
        &mut self,
        requirement: &ValidRequirement,
        candidate: &Arc<PluginVersion>,
        stack: &mut Vec<Arc<PluginVersion>>,
    ) -> Result<Binding, String> {
        let Some(export) = candidate.export else {
            return Err("exports no interface".into());
        };
        let interface = match self.layout_checks.verdict(requirement.interface, &export) {
            Some(Ok(checked)) => *checked,
            Some(Err(verdict)) => {
                return Err(format!(
                    "satisfies the requirement but its interface is incompatible ({verdict})"
                ));
            }
            // Checks are made before publication (they run plugin code); resolution never
            // makes one. Reaching this is a bug in what was checked, reported, not papered
            // over.
            None => return Err("its interface was not checked against this consumer".into()),
        };
        self.resolve(candidate, stack)
            .map_err(|reason| format!("cannot be bound itself ({reason})"))?;
        Ok(Binding {
            module: candidate.clone(),
            interface,
        })
    }
}

/// The module versions bound by anyone in `resolution`.
pub fn bound_modules(resolution: &Resolution) -> HashSet<usize> {
    resolution
        .bound
        .values()
        .flat_map(|bindings| bindings.iter().map(|b| key(&b.module)))
        .collect()
}

#[cfg(test)]
mod tests;
