//! Watching a crate's sources: inotify events through notify, filtered to what a build
//! reads and debounced, so one save (often several events) is one rebuild.

use std::{
    path::{Component, Path, PathBuf},
    sync::mpsc::{self, Receiver, RecvTimeoutError},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use notify::{EventKind, RecursiveMode, Watcher as _};

/// Quiet time after the last event before a change counts as complete.
const DEBOUNCE: Duration = Duration::from_millis(30);
/// A change that keeps producing events is built after this long anyway.
const MAX_DEBOUNCE: Duration = Duration::from_millis(500);

/// A recursive watch of one crate directory.
pub struct Watch {
    // Held: dropping it stops the events.
    _watcher: notify::RecommendedWatcher,
    events: Receiver<PathBuf>,
}

impl Watch {
    /// Watches `dir`, reporting changes to files a build reads (see [`is_source`]).
    pub fn start(dir: &Path) -> anyhow::Result<Self> {
        let (sender, events) = mpsc::channel();
        let root = dir.to_owned();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                if matches!(event.kind, EventKind::Access(_)) {
                    return;
                }
                for path in event.paths {
                    if let Ok(relative) = path.strip_prefix(&root)
                        && is_source(relative)
                    {
                        // The receiver is gone only when the loop has ended.
                        let _ = sender.send(path.clone());
                    }
                }
            })
            .context("cannot create a file watcher")?;
        watcher
            .watch(dir, RecursiveMode::Recursive)
            .with_context(|| format!("cannot watch {}", dir.display()))?;
        Ok(Self {
            _watcher: watcher,
            events,
        })
    }

    /// Waits for the next change and returns when it has settled, with the moment its
    /// first event arrived and the files it touched.
    pub fn next_change(&self) -> anyhow::Result<(Instant, Vec<PathBuf>)> {
        let Ok(first) = self.events.recv() else {
            bail!("the file watcher stopped");
        };
        let started = Instant::now();
        let mut paths = vec![first];
        loop {
            let remaining = MAX_DEBOUNCE.saturating_sub(started.elapsed());
            match self.events.recv_timeout(DEBOUNCE.min(remaining)) {
                Ok(path) if !paths.contains(&path) => paths.push(path),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => return Ok((started, paths)),
                Err(RecvTimeoutError::Disconnected) => bail!("the file watcher stopped"),
            }
            if remaining.is_zero() {
                return Ok((started, paths));
            }
        }
    }

    /// Drops the changes already reported (e.g. the dev loop's own edits being undone).
    pub fn discard_pending(&self) {
        while self.events.try_recv().is_ok() {}
    }
}

/// Whether a path (relative to the crate) is something a build reads: not under `target/`
/// or a hidden directory, not `Cargo.lock` (cargo writes it), not an editor's backup or swap
/// file.
pub fn is_source(relative: &Path) -> bool {
    let mut components = relative.components().peekable();
    let Some(Component::Normal(first)) = components.peek() else {
        return false;
    };
    if *first == "target" {
        return false;
    }
    let hidden = relative.components().any(|component| {
        matches!(component, Component::Normal(name) if name.to_string_lossy().starts_with('.'))
    });
    let Some(name) = relative.file_name().map(|name| name.to_string_lossy()) else {
        return false;
    };
    !hidden
        && name != "Cargo.lock"
        && !name.ends_with('~')
        && !name.ends_with(".swp")
        && !name.ends_with(".swx")
        && !name.starts_with("#")
}

#[cfg(test)]
mod tests;
