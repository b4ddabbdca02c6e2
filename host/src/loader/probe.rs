//! Load containment: every new artifact is first loaded by a sacrificial child process.
//!
//! Code that runs when a library is opened (static initializers in `.init_array`, run by
//! `dlopen`) and a plugin's entry points can end the process in ways no `catch_unwind`
//! catches: an abort, a segfault, `exit`. So before the host opens a library, the same
//! `frontdoor` binary (`frontdoor probe-artifact`, [`child`]) runs the whole load path on
//! the very copy the host will open: ELF checks, `dlopen`, abi_stable header and layout
//! check, manifest, init with the host's services, shared-module export. It reports each
//! step on stdout ([`report`]). The host opens the library only if the child reported
//! success and exited cleanly; a child that died, exited, or ran past its deadline (it is
//! killed) gets the artifact refused with what happened and in which step.
//!
//! A probe is the larger part of a reload's CPU (starting a process, linking the host
//! binary, opening the library) and runs beside serving threads. The deployer's probes
//! therefore start `SCHED_IDLE` (`artifacts.probe_idle_wait_ms`): they never hold a core a
//! serving thread wants. Where serving keeps every core busy, an idle probe may get almost
//! no CPU; once it has been held back that long it is killed and run again at the
//! deployer's priority, so a busy host delays a reload by at most that bound.

pub(crate) mod background;
pub(super) mod child;
mod idle_spawner;
mod output;
mod process;
mod report;

use std::{
    os::unix::process::ExitStatusExt as _,
    path::{Path, PathBuf},
    process::{Command, ExitStatus},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use super::library::LoadStage;
use process::Run;
use report::{ProbeEvent, Transcript};

/// How the host runs probes.
#[derive(Debug, Clone)]
pub struct Probe {
    binary: PathBuf,
    timeout: Duration,
    /// Run each probe `SCHED_IDLE` first, again at the caller's priority once held back
    /// from a CPU this long; `None`: at the caller's priority only.
    idle_wait: Option<Duration>,
    /// How the probe processes ran, for the metrics (shared by clones).
    runs: Arc<RunCounters>,
}

/// Probe processes counted by how they ran.
#[derive(Debug, Default)]
struct RunCounters {
    idle: AtomicU64,
    held_back: AtomicU64,
    normal: AtomicU64,
}

/// How many probe processes ran, and how, since the host started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeRuns {
    /// Ran `SCHED_IDLE` to the end.
    pub idle: u64,
    /// Ran `SCHED_IDLE`, were held back from a CPU for `artifacts.probe_idle_wait_ms` and
    /// killed; each is followed by a `normal` run of the same artifact.
    pub held_back: u64,
    /// Ran at the caller's priority: start-up and recycle loads, reruns of held-back ones,
    /// and all of them with `probe_idle_wait_ms = 0` or `deployer_idle = true`.
    pub normal: u64,
}

/// Why the probe refused an artifact. `Display` is the one-line reason.
#[derive(Debug, thiserror::Error)]
pub enum ProbeFailure {
    /// A check in the child refused it: the same reason the host would have given.
    #[error("{reason}")]
    Refused {
        plugin: Option<String>,
        reason: String,
    },
    #[error("the load probe {how} while {}: {}{}", stage.doing(), stage.consequence(*how_kind), panic.as_ref().map(|message| format!(" (panicked: {message})")).unwrap_or_default())]
    Died {
        /// "died of SIGABRT", "exited with status 3".
        how: String,
        how_kind: Ending,
        stage: LoadStage,
        plugin: Option<String>,
        /// The panic message the child printed, when it panicked.
        panic: Option<String>,
    },
    #[error("the load probe did not finish within {} ms{} while {} and was killed: {} (artifacts.probe_timeout_ms)", after.as_millis(), crate::loader::work_deadline::waiting_note(*waited), stage.doing(), stage.consequence(Ending::Hung))]
    TimedOut {
        after: Duration,
        /// Time the probe waited for a CPU, which the deadline did not count.
        waited: Duration,
        stage: LoadStage,
        plugin: Option<String>,
    },
    #[error("cannot run the load probe {binary}: {source}")]
    Spawn {
        binary: PathBuf,
        source: std::io::Error,
    },
}

/// How a probe that did not report ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Crashed,
    Exited,
    Hung,
}

impl ProbeFailure {
    pub(super) fn plugin(&self) -> Option<&str> {
        match self {
            Self::Refused { plugin, .. }
            | Self::Died { plugin, .. }
            | Self::TimedOut { plugin, .. } => plugin.as_deref(),
            Self::Spawn { .. } => None,
        }
    }
}

impl Probe {
    pub(super) fn new(binary: PathBuf, timeout: Duration, idle_wait: Option<Duration>) -> Self {
        Self {
            binary,
            timeout,
            idle_wait,
            runs: Arc::default(),
        }
    }

    /// How many probe processes ran, and how.
    pub(super) fn runs(&self) -> ProbeRuns {
        ProbeRuns {
            idle: self.runs.idle.load(Ordering::Relaxed),
            held_back: self.runs.held_back.load(Ordering::Relaxed),
            normal: self.runs.normal.load(Ordering::Relaxed),
        }
    }

    /// Loads `copy` in a child process; `Ok` with the plugin's `name@version` when the
    /// child came through.
    pub(super) fn run(&self, copy: &Path) -> Result<String, ProbeFailure> {
        let spawn_failed = |source| ProbeFailure::Spawn {
            binary: self.binary.clone(),
            source,
        };
        let mut finished = None;
        // Only the deployer's loads are background work (a host starting up, or a recycle's
        // successor, loads at its own priority to be ready soon); and a caller that is
        // itself SCHED_IDLE (`deployer_idle`) gains nothing from an idle first run, and its
        // probe could not be raised after one.
        let idle_wait = self
            .idle_wait
            .filter(|_| background::on_background_thread() && !calling_thread_is_idle());
        if let Some(held_back_limit) = idle_wait {
            match process::run_idle(self.command(copy), self.timeout, held_back_limit)
                .map_err(spawn_failed)?
            {
                Run::Finished(idle) => {
                    self.runs.idle.fetch_add(1, Ordering::Relaxed);
                    finished = Some(idle);
                }
                Run::HeldBack(held_back) => {
                    self.runs.held_back.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(
                        copy = %copy.display(),
                        held_back_ms = held_back.as_millis(),
                        "the idle load probe was held back from a CPU for artifacts.probe_idle_wait_ms; running it again at the deployer's priority"
                    );
                }
            }
        }
        let finished = match finished {
            Some(finished) => finished,
            None => {
                let finished =
                    process::run(self.command(copy), self.timeout).map_err(spawn_failed)?;
                self.runs.normal.fetch_add(1, Ordering::Relaxed);
                finished
            }
        };
        let transcript = Transcript::read(&finished.stdout);
        let stderr = String::from_utf8_lossy(&finished.stderr_head);
        let stage = transcript.stage.unwrap_or(LoadStage::Starting);
        let outcome = judge(
            transcript,
            finished.status,
            finished.timed_out.then_some(finished.waited_for_cpu),
            self.timeout,
            &stderr,
        );
        if let Err(failure) = &outcome {
            tracing::warn!(
                copy = %copy.display(),
                ?stage,
                status = %finished.status,
                stderr = %stderr.trim_end(),
                %failure,
                "the load probe refused an artifact"
            );
        }
        outcome
    }

    /// `frontdoor probe-artifact --parent-pid <host> <copy>`.
    fn command(&self, copy: &Path) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .arg(child::SUBCOMMAND)
            .arg("--parent-pid")
            .arg(std::process::id().to_string())
            .arg(copy)
            // Panic messages without pages of backtrace: the message is the reason.
            .env("RUST_BACKTRACE", "0");
        command
    }
}

/// Whether the calling thread runs `SCHED_IDLE`.
fn calling_thread_is_idle() -> bool {
    // SAFETY: sched_getscheduler(2) takes a pid (0: the calling thread) and touches no memory.
    unsafe { libc::sched_getscheduler(0) == libc::SCHED_IDLE }
}

/// The verdict on a finished probe; `timed_out` holds how long it waited for a CPU when
/// its deadline was spent.
fn judge(
    transcript: Transcript,
    status: ExitStatus,
    timed_out: Option<Duration>,
    timeout: Duration,
    stderr: &str,
) -> Result<String, ProbeFailure> {
    let stage = transcript.stage.unwrap_or(LoadStage::Starting);
    if let Some(waited) = timed_out {
        return Err(ProbeFailure::TimedOut {
            after: timeout,
            waited,
            stage,
            plugin: transcript.plugin,
        });
    }
    match transcript.verdict {
        Some(ProbeEvent::Refused { plugin, reason }) => Err(ProbeFailure::Refused {
            plugin: plugin.or(transcript.plugin),
            reason,
        }),
        Some(ProbeEvent::Loaded { plugin }) if status.success() => Ok(plugin),
        // Reported success, then did not exit cleanly: not what a sound load does.
        Some(ProbeEvent::Loaded { plugin }) => Err(died(status, stage, Some(plugin), stderr)),
        _ => Err(died(status, stage, transcript.plugin, stderr)),
    }
}

fn died(
    status: ExitStatus,
    stage: LoadStage,
    plugin: Option<String>,
    stderr: &str,
) -> ProbeFailure {
    let (how, how_kind) = match (status.signal(), status.code()) {
        (Some(signal), _) => (format!("died of {}", signal_name(signal)), Ending::Crashed),
        (None, Some(code)) => (format!("exited with status {code}"), Ending::Exited),
        (None, None) => (format!("ended ({status})"), Ending::Crashed),
    };
    ProbeFailure::Died {
        how,
        how_kind,
        stage,
        plugin,
        panic: panic_message(stderr),
    }
}

/// The message of the first panic in `stderr` (Rust prints `thread '…' panicked at
/// file:line:col:` and the message on the next line; a panic that cannot unwind is followed
/// by a second one saying so), shortened to fit a one-line reason.
fn panic_message(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr.lines().collect();
    let at = lines.iter().position(|line| line.contains("panicked at"))?;
    let message = lines
        .get(at + 1)
        .map(|line| line.trim())
        .filter(|line| !line.is_empty())?;
    let mut message = message.to_owned();
    if message.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|i| message.is_char_boundary(*i))
            .unwrap_or(0);
        message.truncate(cut);
        message.push_str("...");
    }
    Some(message)
}

fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGABRT => "SIGABRT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGSYS => "SIGSYS",
        _ => return format!("signal {signal}"),
    };
    name.to_owned()
}

impl LoadStage {
    /// The step, as in "while opening the library".
    fn doing(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::ElfCheck => "checking the ELF structure",
            Self::Open => "opening the library",
            Self::RootModule => "reading its root module",
            Self::Manifest => "reading its manifest",
            Self::Init => "running its init",
            Self::Export => "reading its shared-module export",
        }
    }

    /// What the ending says about the artifact.
    fn consequence(self, ending: Ending) -> &'static str {
        match (self, ending) {
            (Self::Open, Ending::Crashed) => "its static initializers crash",
            (Self::Open, Ending::Exited) => "its static initializers end the process",
            (Self::Open, Ending::Hung) => "its static initializers hang",
            (Self::Init, Ending::Crashed) => "its init crashes",
            (Self::Init, Ending::Exited) => "its init ends the process",
            (Self::Init, Ending::Hung) => "its init hangs",
            (Self::Starting | Self::ElfCheck, Ending::Hung) => "the probe could not start in time",
            (Self::Starting | Self::ElfCheck, _) => "the probe itself failed, see the host log",
            (_, Ending::Crashed) => "its entry point crashes",
            (_, Ending::Exited) => "its entry point ends the process",
            (_, Ending::Hung) => "its entry point hangs",
        }
    }
}

#[cfg(test)]
mod priority_tests;
#[cfg(test)]
mod tests;
