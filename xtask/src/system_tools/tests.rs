//! Tests for finding system programs and reading a failed install's output.

use std::os::unix::fs::PermissionsExt as _;

use super::*;

#[test]
fn which_finds_an_executable_on_path_and_not_a_missing_one() {
    // `sh` is on every machine xtask runs on; a made-up name is on none.
    assert!(which("sh").is_some_and(|path| path.is_absolute()));
    assert_eq!(which("frontdoor-no-such-program-4f1c"), None);
}

#[test]
fn a_directory_or_a_plain_file_is_not_an_executable() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let plain = dir.path().join("plain");
    std::fs::write(&plain, "not a program").expect("written");
    assert!(!is_executable_file(dir.path()));
    assert!(!is_executable_file(&plain));
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o755))
        .expect("made executable");
    assert!(is_executable_file(&plain));
}

#[test]
fn last_lines_keeps_the_end_of_stdout_then_stderr() {
    assert_eq!(last_lines(b"a\nb\nc\n", b"d\ne\n", 3), "c\nd\ne");
    assert_eq!(last_lines(b"only\n", b"", 5), "only");
    assert_eq!(last_lines(b"", b"", 5), "");
}

#[test]
fn protoc_is_taken_from_protoc_when_it_names_an_executable_and_refused_otherwise() {
    assert_eq!(protoc_named_by(None).expect("unset is fine"), None);
    let sh = which("sh").expect("sh on PATH");
    assert_eq!(
        protoc_named_by(Some(sh.clone().into_os_string())).expect("an executable"),
        Some(sh)
    );
    let error = protoc_named_by(Some("/nonexistent/protoc".into()))
        .expect_err("not a file")
        .to_string();
    assert!(
        error.contains("PROTOC names /nonexistent/protoc") && error.contains("unset it"),
        "{error}"
    );
}
