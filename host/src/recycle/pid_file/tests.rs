use super::*;

#[test]
fn written_whole_and_removed_only_by_the_process_it_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("frontdoor.pid");
    write(&path, 41).expect("write");
    assert_eq!(read(&path), Some(41));
    // The successor replaces it; the old host's removal then leaves it alone.
    write(&path, 42).expect("replace");
    remove_if_mine(&path, 41);
    assert_eq!(read(&path), Some(42));
    remove_if_mine(&path, 42);
    assert!(!path.exists());
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
}

#[test]
fn a_directory_that_does_not_exist_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("missing/frontdoor.pid");
    let error = write(&path, 7).expect_err("no directory");
    assert!(
        error.to_string().contains("missing/frontdoor.pid"),
        "{error}"
    );
}
