//! Child processes that never outlive xtask: if xtask is killed (SIGTERM from `timeout`, a
//! supervisor, `kill`), the host and the sample backends it started get SIGTERM too and shut
//! down gracefully, instead of lingering on their ports.

use std::{ffi::OsStr, io, os::unix::process::CommandExt as _, process::Command};

/// Asks the kernel to send SIGTERM to the child when xtask dies (Linux `PR_SET_PDEATHSIG`;
/// it survives the exec of `taskset` into the real program).
pub fn terminate_with_parent(command: &mut Command) {
    // SAFETY: the closure runs in the forked child between fork and exec. It only calls
    // prctl(2), which is async-signal-safe, allocates nothing and touches no memory shared
    // with the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// A command running `program`, pinned to `core` with taskset when one is given. taskset
/// execs the program, so the child's pid is the program's own.
pub fn pinned(program: impl AsRef<OsStr>, core: Option<usize>) -> Command {
    match core {
        Some(core) => {
            let mut command = Command::new("taskset");
            command.args(["-c", &core.to_string()]).arg(program);
            command
        }
        None => Command::new(program),
    }
}
