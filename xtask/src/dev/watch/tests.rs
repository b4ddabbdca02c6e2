//! Tests of which paths count as a change to the crate's sources.

use std::path::Path;

use super::is_source;

#[test]
fn sources_and_manifests_count() {
    for path in [
        "src/lib.rs",
        "src/routes/home.rs",
        "Cargo.toml",
        "build.rs",
        "assets/page.json",
    ] {
        assert!(is_source(Path::new(path)), "{path}");
    }
}

#[test]
fn build_output_hidden_files_and_editor_leftovers_do_not() {
    for path in [
        "target/debug/libkids.so",
        "target",
        ".git/index",
        "src/.lib.rs.swp",
        "src/lib.rs~",
        "src/#lib.rs#",
        ".cargo/config.toml",
        "Cargo.lock",
        "",
    ] {
        assert!(!is_source(Path::new(path)), "{path}");
    }
}
