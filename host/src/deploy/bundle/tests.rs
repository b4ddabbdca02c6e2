//! The manifest parser against what an operator gets wrong and what an attacker tries.

use std::path::Path;

use super::*;

const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn parse_text(text: &str) -> Result<Bundle, BundleError> {
    parse(
        "release",
        Path::new("/plugins/release.bundle.toml"),
        Path::new("/plugins"),
        text,
    )
}

fn member(file: &str, plugin: &str) -> String {
    format!("[[member]]\nfile = {file:?}\nplugin = {plugin:?}\n")
}

#[test]
fn a_good_manifest_names_its_members_in_the_plugins_directory() {
    let text = format!(
        "{}{}sha256 = {SHA:?}\n",
        member("gallery-2.0.0.so", "gallery@2.0.0"),
        member("artwork-1.2.0.so", "artwork@1.2.0"),
    );
    let bundle = parse_text(&text).expect("valid");
    assert_eq!(bundle.name, "release");
    assert_eq!(bundle.members.len(), 2);
    assert_eq!(
        bundle.members[0].path,
        Path::new("/plugins/gallery-2.0.0.so")
    );
    assert_eq!(bundle.members[0].name, "gallery");
    assert_eq!(bundle.members[0].version, semver::Version::new(2, 0, 0));
    assert_eq!(bundle.members[0].sha256, None);
    let sha = bundle.members[1].sha256.expect("sha256 read");
    assert_eq!(sha[0], 0x9f);
    assert_eq!(sha[31], 0x08);
}

#[test]
fn names_outside_the_directory_are_refused() {
    for file in [
        "../tv-1.0.0.so",
        "/etc/tv-1.0.0.so",
        "sub/tv-1.0.0.so",
        "..",
        ".",
        ".hidden.so",
        "tv-1.0.0.so\\..\\x.so",
        "tv.txt",
        ".so",
        "tv\n1.0.0.so",
    ] {
        let error = parse_text(&member(file, "tv@1.0.0")).expect_err(file);
        assert!(
            matches!(error, BundleError::BadFile { .. }),
            "{file:?}: {error}"
        );
    }
}

#[test]
fn duplicates_are_refused() {
    let twice_file = format!(
        "{}{}",
        member("tv-1.0.0.so", "tv@1.0.0"),
        member("tv-1.0.0.so", "mobile@1.0.0")
    );
    assert_eq!(
        parse_text(&twice_file),
        Err(BundleError::DuplicateFile("tv-1.0.0.so".into()))
    );
    let twice_plugin = format!(
        "{}{}",
        member("tv-1.0.0.so", "tv@1.0.0"),
        member("tv-2.0.0.so", "tv@2.0.0")
    );
    assert_eq!(
        parse_text(&twice_plugin),
        Err(BundleError::DuplicatePlugin("tv".into()))
    );
}

#[test]
fn member_count_is_bounded_and_an_empty_bundle_is_refused() {
    let many: String = (0..=MAX_MEMBERS)
        .map(|i| member(&format!("p{i}-1.0.0.so"), &format!("p{i}@1.0.0")))
        .collect();
    assert_eq!(
        parse_text(&many),
        Err(BundleError::TooManyMembers(MAX_MEMBERS + 1))
    );
    assert_eq!(parse_text(""), Err(BundleError::NoMembers));
}

#[test]
fn malformed_text_fields_and_values_are_refused() {
    for text in [
        "[[member]\nfile = \"tv-1.0.0.so\"",
        "[[member]]\nfile = \"tv-1.0.0.so\"\n",
        "[[member]]\nfile = \"tv-1.0.0.so\"\nplugin = \"tv@1.0.0\"\nextra = 1\n",
        "members = 3\n",
        "[[member]]\nfile = 7\nplugin = \"tv@1.0.0\"\n",
    ] {
        assert!(
            matches!(parse_text(text), Err(BundleError::Parse(_))),
            "{text:?}"
        );
    }
    for plugin in ["tv", "@1.0.0", "tv@one", "tv@1.0"] {
        assert!(
            matches!(
                parse_text(&member("tv-1.0.0.so", plugin)),
                Err(BundleError::BadPlugin { .. })
            ),
            "{plugin:?}"
        );
    }
    for sha in [
        "abc",
        &SHA[..63],
        &format!("{}zz", &SHA[..62]),
        &"é".repeat(32),
    ] {
        let text = format!("{}sha256 = {sha:?}\n", member("tv-1.0.0.so", "tv@1.0.0"));
        assert!(
            matches!(parse_text(&text), Err(BundleError::BadSha256 { .. })),
            "{sha:?}"
        );
    }
}

#[test]
fn a_refused_manifest_still_claims_the_plain_names_it_lists() {
    let text = format!(
        "{}{}",
        member("tv-2.0.0.so", "tv@2.0.0"),
        member("../evil.so", "evil@1.0.0")
    );
    assert!(parse_text(&text).is_err());
    assert_eq!(named_files(&text), vec!["tv-2.0.0.so".to_owned()]);
}

#[test]
fn symlinks_fifos_and_oversized_manifests_are_not_read() {
    let dir = std::env::temp_dir().join(format!("frontdoor-bundle-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let good = dir.join("good.bundle.toml");
    std::fs::write(&good, member("tv-1.0.0.so", "tv@1.0.0")).expect("write");
    assert!(read(&good).is_ok());

    let link = dir.join("link.bundle.toml");
    std::os::unix::fs::symlink(&good, &link).expect("symlink");
    assert_eq!(read(&link), Err(BundleError::NotRegular));

    let fifo = dir.join("fifo.bundle.toml");
    // The tool, not libc: the host keeps its `unsafe` in the loader.
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    assert_eq!(read(&fifo), Err(BundleError::NotRegular));

    let big = dir.join("big.bundle.toml");
    std::fs::write(&big, vec![b'#'; MAX_MANIFEST_BYTES as usize + 1]).expect("write");
    assert_eq!(
        read(&big),
        Err(BundleError::TooLarge(MAX_MANIFEST_BYTES + 1))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn only_visible_bundle_toml_files_are_manifests() {
    assert!(is_bundle_name(Path::new("/p/release.bundle.toml")));
    assert!(!is_bundle_name(Path::new("/p/.release.bundle.toml")));
    assert!(!is_bundle_name(Path::new("/p/.bundle.toml")));
    assert!(!is_bundle_name(Path::new("/p/release.toml")));
    assert!(!is_bundle_name(Path::new("/p/release.bundle.toml.tmp")));
}
