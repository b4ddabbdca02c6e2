//! Tests of artifact installation and of the build report.

use std::fs;

use super::{human_size, install};

#[test]
fn sizes_are_shown_in_decimal_units() {
    assert_eq!(human_size(0), "0 B");
    assert_eq!(human_size(999), "999 B");
    assert_eq!(human_size(1_500), "1.5 kB");
    assert_eq!(human_size(15_500_000), "15.5 MB");
    assert_eq!(human_size(2_000_000_000), "2.0 GB");
}

#[test]
fn install_replaces_the_final_name_and_leaves_no_temp_file() {
    let dir = std::env::temp_dir().join(format!("xtask-install-{}", std::process::id()));
    let out = dir.join("plugins.d");
    let source = dir.join("libfake.so");
    fs::create_dir_all(&dir).expect("temp dir");

    for content in ["first", "second version"] {
        fs::write(&source, content).expect("source");
        let (path, bytes) = install::atomically(&source, &out, "fake-1.0.0.so").expect("install");
        assert_eq!(path, out.join("fake-1.0.0.so"));
        assert_eq!(bytes, content.len() as u64);
        assert_eq!(fs::read_to_string(&path).expect("installed"), content);
    }
    let missing = install::atomically(&dir.join("missing.so"), &out, "gone-1.0.0.so");
    assert!(missing.is_err());

    let names: Vec<_> = fs::read_dir(&out)
        .expect("out dir")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert_eq!(
        names,
        ["fake-1.0.0.so"],
        "no temp file and no failed install is left"
    );
    fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn sdk_versions_match_by_caret_class() {
    use super::external::compatible;
    let v = |text: &str| cargo_metadata::semver::Version::parse(text).expect("semver");
    assert!(compatible(&v("0.1.0"), &v("0.1.7")));
    assert!(!compatible(&v("0.1.0"), &v("0.2.0")));
    assert!(compatible(&v("1.2.0"), &v("1.0.3")));
    assert!(!compatible(&v("1.2.0"), &v("2.0.0")));
    assert!(!compatible(&v("0.0.1"), &v("0.0.2")));
}

/// The flags external builds get are the ones this workspace's own builds get: one truth.
#[test]
fn external_builds_get_the_workspace_alignment_flags() {
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cargo/config.toml");
    let config: toml::Table = fs::read_to_string(config)
        .expect("config")
        .parse()
        .expect("toml");
    let flags: Vec<&str> = config["target"]["x86_64-unknown-linux-gnu"]["rustflags"]
        .as_array()
        .expect("rustflags")
        .iter()
        .filter_map(toml::Value::as_str)
        .collect();
    assert_eq!(flags, super::external::ALIGNMENT_RUSTFLAGS);
}
