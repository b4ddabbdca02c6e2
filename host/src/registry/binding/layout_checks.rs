//! Interface layout checks, made when a library is deployed and before the registry's state
//! lock is taken: abi_stable's checker reads a plugin's layout data and may call into the
//! plugin's code (extra checks), and **publication runs no plugin code while it holds the
//! lock.** Resolution only reads the verdicts recorded here; a pair that was never checked
//! is not bound.

use std::{
    collections::HashMap,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::Arc,
};

use abi_stable::type_layout::TypeLayout;
use frontdoor_plugin_api::{CheckedInterface, ModuleExport, ModuleTable};

use super::super::PluginVersion;
use crate::loader::{LoadedLibrary, ValidRequirement, check_interface};

/// The outcome of checking one consumer layout against one module's export: the proof a
/// requirement is bound with, or the one-line reason it cannot be.
pub type Verdict = Result<CheckedInterface, String>;

/// Every verdict so far, by expected layout, exported layout and table. Libraries are never
/// unloaded, so an address never comes to mean something else.
#[derive(Default)]
pub struct LayoutChecks {
    verdicts: HashMap<Key, Verdict>,
}

type Key = (usize, usize, ModuleTable);

/// A check to make: a consumer's expected layout against a module's export.
pub struct PendingCheck {
    expected: &'static TypeLayout,
    export: ModuleExport,
}

/// A check made, to record.
pub struct MadeCheck {
    key: Key,
    verdict: Verdict,
}

/// What binding needs to know of a plugin, whether it is deployed yet or not.
pub struct Interfaces<'a> {
    name: &'a str,
    version: &'a semver::Version,
    requires: &'a [ValidRequirement],
    export: Option<ModuleExport>,
}

impl<'a> Interfaces<'a> {
    pub fn of_library(library: &'a LoadedLibrary) -> Self {
        Self {
            name: &library.identity.name,
            version: &library.identity.version,
            requires: &library.manifest.requires,
            export: library.export,
        }
    }

    fn of_version(version: &'a PluginVersion) -> Self {
        Self {
            name: &version.identity.name,
            version: &version.identity.version,
            requires: &version.requires,
            export: version.export,
        }
    }

    /// `module`'s export, if it exports one that `requirement` may bind to.
    fn export_for(&self, requirement: &ValidRequirement) -> Option<ModuleExport> {
        self.export.filter(|_| {
            self.name == requirement.module && requirement.requirement.matches(self.version)
        })
    }
}

fn key(expected: &'static TypeLayout, export: &ModuleExport) -> Key {
    (
        std::ptr::from_ref(expected) as usize,
        std::ptr::from_ref(export.interface()) as usize,
        export.table(),
    )
}

impl LayoutChecks {
    /// The verdict for `expected` against `export`, if that pair was checked.
    pub fn verdict(
        &self,
        expected: &'static TypeLayout,
        export: &ModuleExport,
    ) -> Option<&Verdict> {
        self.verdicts.get(&key(expected, export))
    }

    /// The checks not made yet that binding `newcomer` beside `versions` needs: its
    /// requirements against every export they may bind to (its own included), and its
    /// export against every requirement that may bind to it.
    pub fn pending(
        &self,
        versions: &[Arc<PluginVersion>],
        newcomer: &Interfaces<'_>,
    ) -> Vec<PendingCheck> {
        let others: Vec<Interfaces<'_>> = versions
            .iter()
            .map(|version| Interfaces::of_version(version))
            .collect();
        let mut pending: Vec<PendingCheck> = Vec::new();
        let mut add = |expected: &'static TypeLayout, export: ModuleExport| {
            let wanted = key(expected, &export);
            if self.verdict(expected, &export).is_none()
                && !pending.iter().any(|p| key(p.expected, &p.export) == wanted)
            {
                pending.push(PendingCheck { expected, export });
            }
        };
        for requirement in newcomer.requires {
            for candidate in others.iter().chain(std::iter::once(newcomer)) {
                if let Some(export) = candidate.export_for(requirement) {
                    add(requirement.interface, export);
                }
            }
        }
        for consumer in &others {
            for requirement in consumer.requires {
                if let Some(export) = newcomer.export_for(requirement) {
                    add(requirement.interface, export);
                }
            }
        }
        pending
    }

    pub fn record(&mut self, made: Vec<MadeCheck>) {
        for check in made {
            self.verdicts.insert(check.key, check.verdict);
        }
    }
}

/// Makes the checks. Never call it with a lock held that request-adjacent code waits on.
pub fn run(pending: Vec<PendingCheck>) -> Vec<MadeCheck> {
    pending
        .into_iter()
        .map(|check| {
            // The checker runs code from both plugins' layout data: a panic refuses the
            // pair instead of taking the deployer thread down.
            let verdict = catch_unwind(AssertUnwindSafe(|| {
                check_interface(check.expected, &check.export)
            }))
            .unwrap_or_else(|_| Err("the layout check panicked".to_owned()));
            MadeCheck {
                key: key(check.expected, &check.export),
                verdict,
            }
        })
        .collect()
}
