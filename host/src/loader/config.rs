//! What the loader accepts from the plugins directory and how it contains a load: the
//! `[artifacts]` table of `frontdoor.toml`, plus where it keeps copies and state.

use std::{path::PathBuf, time::Duration};

/// How artifacts are vetted and loaded (`[artifacts]` in `frontdoor.toml`).
#[derive(Debug, Clone)]
pub struct ArtifactsConfig {
    /// Larger artifacts are refused before a byte of them is copied.
    pub max_artifact_bytes: u64,
    /// Load an artifact that is a symbolic link (the target is vetted like a file).
    pub allow_symlinks: bool,
    /// Load from a plugins directory or an artifact that is writable by group or others,
    /// or owned by a user other than the host's (or root).
    pub allow_insecure_permissions: bool,
    /// Keep the private copy of every library that stays mapped (profilers such as perf
    /// resolve a library's symbols through its file name); removed at shutdown.
    pub keep_copies: bool,
    /// Prove every artifact in a sacrificial child process before the host opens it.
    pub probe: bool,
    /// A probe still running after this long is killed and the artifact refused.
    pub probe_timeout: Duration,
    /// Run each probe `SCHED_IDLE` first, so it never takes a core from serving; once it has
    /// been held back from a CPU this long it is killed and run again at the deployer's
    /// priority. `None`: probes run at the deployer's priority.
    pub probe_idle_wait: Option<Duration>,
    /// The binary run as the probe (`<binary> probe-artifact ...`): the `frontdoor` binary
    /// itself. Required when `probe` is on; the command line sets it to the running binary.
    pub probe_binary: Option<PathBuf>,
    /// When set (fleet mode), every artifact must carry a signature (`X.so.minisig`) by a
    /// key of the team that owns its name, checked on the private copy before the probe.
    pub trust: Option<std::sync::Arc<crate::fleet::Trust>>,
}

impl Default for ArtifactsConfig {
    fn default() -> Self {
        Self {
            // A release adapter is ~7 MB, a debug build ~20 MB: a generous ceiling that still
            // stops a runaway file from being copied and mapped.
            max_artifact_bytes: 256 * 1024 * 1024,
            allow_symlinks: false,
            allow_insecure_permissions: false,
            keep_copies: false,
            probe: true,
            probe_timeout: Duration::from_secs(10),
            // Long enough that a probe on a core serving keeps saturated usually finishes
            // idle (R1, 5 reloads a second: a 500 ms bound re-ran 4-5 probes in 30 and their
            // bursts came back into the p99; an idle deployer's loads waited up to about a
            // second), short enough that a busy host delays a deploy by a second at most.
            probe_idle_wait: Some(Duration::from_millis(1000)),
            probe_binary: None,
            trust: None,
        }
    }
}

/// Everything [`super::Loader::new`] needs.
#[derive(Debug, Clone)]
pub struct LoaderConfig {
    pub artifacts: ArtifactsConfig,
    /// The directory under which the host makes its private copies directory.
    pub copies_parent: PathBuf,
    /// Where the host keeps what must survive it (the markers of loads in progress).
    pub state_dir: PathBuf,
}
