//! The host's log filter, changeable while it runs, and the plugins following it.
//!
//! A plugin's `tracing` has its own dispatcher (the SDK's bridge) that skips events below
//! the level it was told at `init`; when the operator changes the host's filter, every
//! loaded copy is told the new level through its `set_log_level` entry point, so a plugin
//! neither floods a quiet host nor stays silent when the host starts listening closely.

use std::{fmt, sync::Mutex};

use crate::{
    loader::host_max_level,
    registry::{Handler, Registry},
};

/// How the binary writes log lines (`--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line of text per event, for people.
    #[default]
    Text,
    /// One JSON object per line, every field at the top level (`plugin`, `request_id`).
    Json,
}

/// Replaces the host's filter with new `tracing` directives (`debug`, `info,plugin=trace`).
type Reload = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// The handle the binary's subscriber gives the admin API to change the filter.
pub struct LogControl {
    reload: Reload,
    current: Mutex<String>,
}

impl fmt::Debug for LogControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogControl")
            .field("current", &self.current())
            .finish_non_exhaustive()
    }
}

impl LogControl {
    /// A control over a filter currently set to `initial`, changed through `reload`.
    pub fn new(
        initial: impl Into<String>,
        reload: impl Fn(&str) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            reload: Box::new(reload),
            current: Mutex::new(initial.into()),
        }
    }

    /// The directives in force.
    pub fn current(&self) -> String {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Sets new directives and tells every loaded plugin copy the resulting level; returns
    /// how many copies were told.
    pub fn set(&self, directives: &str, registry: &Registry) -> Result<usize, String> {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (self.reload)(directives)?;
        directives.clone_into(&mut current);
        drop(current);
        Ok(tell_plugins(registry))
    }
}

/// Tells every loaded copy the host's level now (outside the registry's lock: this calls
/// into plugins).
pub fn tell_plugins(registry: &Registry) -> usize {
    let level = host_max_level();
    let mut told = 0;
    for version in registry.loaded_versions() {
        if let Handler::Plugin(module) = &version.handler {
            (module.set_log_level())(level);
            told += 1;
        }
    }
    told
}
