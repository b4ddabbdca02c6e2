//! One allocator for the whole process: a plugin's `malloc` and `free` are the host's
//! (mimalloc, which the `frontdoor` binary exports), not glibc's, as the dynamic linker
//! itself reports while the real binary loads a real plugin.

use std::process::{Command, Stdio};

use crate::support::Fixture;

/// The allocator's C entry points a Rust cdylib may import (Rust's `System` allocator uses
/// the first five).
const ALLOCATOR_SYMBOLS: [&str; 7] = [
    "malloc",
    "free",
    "realloc",
    "calloc",
    "posix_memalign",
    "aligned_alloc",
    "memalign",
];

#[test]
fn a_loaded_plugin_allocates_through_the_hosts_allocator() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let copy = Fixture::Echo("1.0.0").deploy_to(dir.path());
    let host = env!("CARGO_BIN_EXE_frontdoor-under-test");
    // The load probe is the binary loading one library the way the host does, and exiting:
    // the dynamic linker writes every symbol binding it makes to LD_DEBUG_OUTPUT.PID.
    let bindings_prefix = dir.path().join("bindings");
    let output = Command::new(host)
        .arg("probe-artifact")
        .arg(&copy)
        .env("LD_DEBUG", "bindings")
        .env("LD_DEBUG_OUTPUT", &bindings_prefix)
        .stdin(Stdio::null())
        .output()
        .expect("the probe runs");
    assert!(
        output.status.success(),
        "the probe loads the fixture: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut bindings = String::new();
    for entry in std::fs::read_dir(dir.path()).expect("the bindings files") {
        let path = entry.expect("an entry").path();
        if path
            .to_string_lossy()
            .starts_with(&*bindings_prefix.to_string_lossy())
        {
            bindings.push_str(&std::fs::read_to_string(&path).expect("a bindings file"));
        }
    }
    let from_plugin = format!("binding file {} [", copy.display());
    // `... binding file PLUGIN [0] to TARGET [0]: normal symbol `malloc' [GLIBC_2.2.5]`
    let plugin_allocator_bindings: Vec<(&str, &str)> = bindings
        .lines()
        .filter(|line| line.contains(&from_plugin))
        .filter_map(|line| {
            let symbol = line.split("symbol `").nth(1)?.split('\'').next()?;
            let target = line.split(" to ").nth(1)?.split(" [").next()?;
            ALLOCATOR_SYMBOLS
                .contains(&symbol)
                .then_some((symbol, target))
        })
        .collect();
    for needed in ["malloc", "free"] {
        assert!(
            plugin_allocator_bindings
                .iter()
                .any(|(symbol, _)| *symbol == needed),
            "the plugin's `{needed}` was never bound: {plugin_allocator_bindings:?}"
        );
    }
    for (symbol, target) in &plugin_allocator_bindings {
        assert_eq!(
            *target, host,
            "the plugin's `{symbol}` is bound to {target}, not to the host binary"
        );
    }
}
