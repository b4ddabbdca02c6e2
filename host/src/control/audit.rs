//! The audit log: every change operators make (team, action, target, before and after,
//! when), in the host log, in memory for `GET /admin/audit` (the most recent, bounded) and
//! appended as JSON lines to `audit.jsonl` in `state_dir`, read back at start.

use std::{
    collections::VecDeque,
    fs::{File, OpenOptions},
    io::{BufRead as _, BufReader, Write as _},
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard},
    time::{SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};

/// The file's name in `state_dir`.
pub const FILE_NAME: &str = "audit.jsonl";
/// Entries kept in memory (the file keeps them all).
pub const KEPT: usize = 1000;

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at_unix_ms: u128,
    /// The token's team (`loopback` on a host without tokens).
    pub team: String,
    /// `pin`, `unpin`, `rollback`, `disable`, `enable`, `lift-quarantine`, `module-pin`...
    pub action: String,
    /// `adapter echo`, `adapter echo@1.0.0`, `module artwork`.
    pub target: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// The audit log of one host.
pub struct AuditLog {
    path: PathBuf,
    inner: Mutex<Inner>,
}

struct Inner {
    recent: VecDeque<AuditEntry>,
    file: File,
}

impl AuditLog {
    /// Opens (creating) `audit.jsonl` in `state_dir` and reads its last [`KEPT`] entries.
    /// A line that is not an entry (the torn tail of a crash) is skipped with a warning: the
    /// log is a record, not state the host acts on.
    pub fn open(state_dir: &Path) -> std::io::Result<Self> {
        let path = state_dir.join(FILE_NAME);
        let mut recent = VecDeque::new();
        match File::open(&path) {
            Ok(existing) => {
                for (number, line) in BufReader::new(existing).lines().enumerate() {
                    let line = line?;
                    match serde_json::from_str::<AuditEntry>(&line) {
                        Ok(entry) => {
                            if recent.len() == KEPT {
                                recent.pop_front();
                            }
                            recent.push_back(entry);
                        }
                        Err(error) => tracing::warn!(
                            file = %path.display(),
                            line = number + 1,
                            %error,
                            "skipping an unreadable audit line"
                        ),
                    }
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self {
            path,
            inner: Mutex::new(Inner { recent, file }),
        })
    }

    /// Records one change now: log line, memory, file (synced).
    pub fn record(
        &self,
        team: &str,
        action: &str,
        target: &str,
        before: serde_json::Value,
        after: serde_json::Value,
    ) {
        let entry = AuditEntry {
            at_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_millis()),
            team: team.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            before,
            after,
        };
        tracing::info!(
            target: "frontdoor::audit",
            team = %entry.team,
            action = %entry.action,
            target_name = %entry.target,
            before = %entry.before,
            after = %entry.after,
            "operator change"
        );
        let mut inner = self.lock();
        let mut line = serde_json::to_vec(&entry).unwrap_or_default();
        line.push(b'\n');
        if let Err(error) = inner
            .file
            .write_all(&line)
            .and_then(|()| inner.file.sync_data())
        {
            // The change is made and in the host log; losing its line in the file is
            // reported, not a reason to undo it.
            tracing::error!(file = %self.path.display(), %error, "cannot append to the audit log");
        }
        if inner.recent.len() == KEPT {
            inner.recent.pop_front();
        }
        inner.recent.push_back(entry);
    }

    /// The most recent entries, newest last; at most `limit`.
    pub fn recent(&self, limit: usize) -> Vec<AuditEntry> {
        let inner = self.lock();
        let skip = inner.recent.len().saturating_sub(limit);
        inner.recent.iter().skip(skip).cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Plain data: a panic elsewhere while holding it leaves it usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests;
