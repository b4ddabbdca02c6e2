//! The probe child, `frontdoor probe-artifact --parent-pid PID COPY`: loads the copy the way
//! the host would, reports each step on stdout, and leaves without running anything of the
//! library's again (no exit handlers, no destructors).

use std::{fs::File, io::Write as _, os::unix::fs::OpenOptionsExt as _, path::Path};

use super::report::ProbeEvent;
use crate::loader::{
    LoadError, artifact,
    library::{self, LoadStage},
};

/// The hidden subcommand's name.
pub const SUBCOMMAND: &str = "probe-artifact";

/// Runs the probe on `copy` and ends the process: status 0 once the verdict is reported.
pub fn run(copy: &Path, parent_pid: Option<u32>) -> ! {
    die_with_parent(parent_pid);
    let mut plugin = None;
    let outcome = load(copy, &mut plugin);
    let verdict = match outcome {
        Ok(label) => ProbeEvent::Loaded { plugin: label },
        Err(error) => ProbeEvent::Refused {
            plugin: error.plugin().map(str::to_owned).or(plugin),
            reason: error.to_string(),
        },
    };
    emit(&verdict);
    leave(0)
}

/// The host's load path, from the ELF check of the copy to the shared-module export.
fn load(copy: &Path, plugin: &mut Option<String>) -> Result<String, LoadError> {
    emit(&ProbeEvent::Stage {
        stage: LoadStage::ElfCheck,
    });
    let io_error = |source| LoadError::Io {
        path: copy.to_owned(),
        source,
    };
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(copy)
        .map_err(io_error)?;
    let len = file.metadata().map_err(io_error)?.len();
    artifact::check_elf(&file, len)?;
    let opened = library::open_plugin(copy, len, None, &mut |stage, label| {
        if let Some(label) = label
            && plugin.is_none()
        {
            *plugin = Some(label.to_owned());
            emit(&ProbeEvent::Identified {
                plugin: label.to_owned(),
            });
        }
        emit(&ProbeEvent::Stage { stage });
    })?;
    Ok(opened.identity.label.clone())
}

/// Writes one protocol line and flushes it, so it is out before anything can kill us. The
/// leading newline ends whatever the plugin may have printed without one.
fn emit(event: &ProbeEvent) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "\n{}", event.to_line());
    let _ = stdout.flush();
}

/// The probe must not outlive the host: SIGKILL when the parent goes, and leave at once if
/// it is already gone.
fn die_with_parent(parent_pid: Option<u32>) {
    // SAFETY: prctl(PR_SET_PDEATHSIG, SIGKILL) takes integers only and affects only this
    // process.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    if let Some(parent) = parent_pid
        && std::os::unix::process::parent_id() != parent
    {
        leave(2);
    }
}

/// Ends the process without exit handlers or library destructors: a plugin's destructor
/// has nothing to clean up here, and running it could turn a verdict into a crash.
fn leave(status: i32) -> ! {
    let _ = std::io::stdout().lock().flush();
    // SAFETY: _exit(2) ends the process at once; stdout was flushed above and nothing else
    // of this process needs finishing.
    unsafe { libc::_exit(status) }
}
