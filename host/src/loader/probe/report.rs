//! What the probe child says on stdout: one JSON line per event, each behind a prefix so
//! whatever a plugin prints itself is told apart (and ignored).

use serde::{Deserialize, Serialize};

use crate::loader::library::LoadStage;

/// Starts every line of the probe's protocol.
pub(super) const PREFIX: &str = "frontdoor-probe ";

/// One event of a probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub(crate) enum ProbeEvent {
    /// About to start this step.
    Stage { stage: LoadStage },
    /// The manifest was read: the plugin's `name@version`.
    Identified { plugin: String },
    /// Everything passed.
    Loaded { plugin: String },
    /// A check refused the artifact; `reason` is the one-line reason a host loading it
    /// itself would have given.
    Refused {
        plugin: Option<String>,
        reason: String,
    },
}

impl ProbeEvent {
    /// The line the child writes.
    pub(crate) fn to_line(&self) -> String {
        // Serialising this enum of strings cannot fail; an empty object is still a line.
        let json = serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned());
        format!("{PREFIX}{json}")
    }
}

/// What the host gathers from the child's stdout.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Transcript {
    /// The last step started.
    pub(super) stage: Option<LoadStage>,
    pub(super) plugin: Option<String>,
    /// `Loaded` or `Refused`, when the child got that far.
    pub(super) verdict: Option<ProbeEvent>,
}

impl Transcript {
    pub(super) fn read(stdout: &[u8]) -> Self {
        let mut transcript = Self::default();
        for line in String::from_utf8_lossy(stdout).lines() {
            let Some(event) = line
                .strip_prefix(PREFIX)
                .and_then(|json| serde_json::from_str::<ProbeEvent>(json).ok())
            else {
                continue;
            };
            match event {
                ProbeEvent::Stage { stage } => transcript.stage = Some(stage),
                ProbeEvent::Identified { plugin } => transcript.plugin = Some(plugin),
                verdict @ (ProbeEvent::Loaded { .. } | ProbeEvent::Refused { .. }) => {
                    transcript.verdict = Some(verdict);
                }
            }
        }
        transcript
    }
}
