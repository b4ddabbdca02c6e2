//! Tests of name validation, template rendering and the scaffold's plan.

use std::{fs, path::Path};

use super::{
    mark_draft,
    name::{camel, snake, validate},
    plan,
    templates::{self, ALL, render},
};
use crate::workspace::Workspace;

#[test]
fn kebab_case_names_are_accepted() {
    for name in ["kids", "kids-home", "tv2", "a-1-b"] {
        validate(name, false, &[]).expect(name);
        validate(name, true, &[]).expect(name);
    }
    assert_eq!(snake("kids-home"), "kids_home");
    assert_eq!(camel("kids-home"), "KidsHome");
    assert_eq!(camel("tv2"), "Tv2");
}

#[test]
fn malformed_names_are_refused_with_the_rule() {
    for name in [
        "",
        "Kids",
        "kids_home",
        "-kids",
        "kids-",
        "kids--home",
        "2kids",
        "kids home",
        "kids/..",
        "../kids",
        "kïds",
        "kids.so",
    ] {
        let error = validate(name, false, &[]).expect_err(name).to_string();
        assert!(
            error.contains("kebab-case") || error.contains("empty"),
            "{name}: {error}"
        );
    }
    let long = "a".repeat(65);
    let error = validate(&long, false, &[])
        .expect_err("too long")
        .to_string();
    assert!(error.contains("limit is 64"), "{error}");
    // A shared module also takes `-api`.
    let error = validate(&"a".repeat(61), true, &[])
        .expect_err("too long")
        .to_string();
    assert!(error.contains("limit is 60"), "{error}");
}

#[test]
fn reserved_and_taken_names_are_refused() {
    for name in [
        "static-bench",
        "frontdoor",
        "xtask",
        "std",
        "test",
        "fn",
        "self",
        "async",
    ] {
        let error = validate(name, false, &[]).expect_err(name).to_string();
        assert!(
            error.contains("reserved") || error.contains("keyword"),
            "{name}: {error}"
        );
    }
    let taken = ["tv", "artwork-api", "sample_backends"];
    for (name, shared) in [("tv", false), ("artwork", true), ("sample-backends", false)] {
        let error = validate(name, shared, &taken).expect_err(name).to_string();
        assert!(error.contains("already exists"), "{name}: {error}");
    }
    // `artwork` as an adapter does not clash with `artwork-api`.
    validate("artwork", false, &taken).expect("free as an adapter");
}

#[test]
fn rendering_replaces_placeholders_and_refuses_unknown_ones() {
    let values = [("name", "kids"), ("version", "0.1.0")];
    assert_eq!(
        render("{{name}}@{{version}} {{name}}", &values).expect("renders"),
        "kids@0.1.0 kids"
    );
    // Rust's escaped braces are not placeholders.
    let rust = r#"format!("{{}} {{ x }} {{0}}")"#;
    assert_eq!(render(rust, &values).expect("renders"), rust);
    let error = render("{{nmae}}", &values).expect_err("typo").to_string();
    assert!(error.contains("{{nmae}}"), "{error}");
}

#[test]
fn every_template_file_is_embedded() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut on_disk = Vec::new();
    collect(&root, &root, &mut on_disk);
    on_disk.sort();
    let mut embedded: Vec<String> = ALL
        .iter()
        .flat_map(|list| list.iter().map(|template| template.path.to_owned()))
        .collect();
    embedded.sort();
    assert_eq!(
        embedded, on_disk,
        "list each file of xtask/templates in new_plugin/templates.rs"
    );
    for template in ALL.iter().flat_map(|list| list.iter()) {
        assert!(template.path.ends_with(".tmpl"), "{}", template.path);
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(dir).expect("templates dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect(root, &path, out);
        } else {
            let relative = path.strip_prefix(root).expect("below root");
            out.push(relative.display().to_string());
        }
    }
}

#[test]
fn every_scaffold_renders_completely() {
    let workspace = Workspace::load().expect("cargo metadata works");
    let standalone = Path::new("/nonexistent/kids");
    for (shared, dir) in [
        (false, None),
        (true, None),
        (false, Some(standalone)),
        (true, Some(standalone)),
    ] {
        let files = plan(&workspace, "kids-home", shared, dir).expect("plans");
        for file in &files {
            assert!(
                !file.text.contains("{{name"),
                "{}: {}",
                file.path.display(),
                file.text
            );
        }
        let manifests: Vec<_> = files
            .iter()
            .filter(|file| file.path.ends_with("Cargo.toml"))
            .collect();
        assert!(!manifests.is_empty());
        for manifest in &manifests {
            manifest
                .text
                .parse::<toml::Table>()
                .unwrap_or_else(|error| {
                    panic!("{}: {error}\n{}", manifest.path.display(), manifest.text)
                });
        }
        match dir {
            Some(dir) => {
                assert!(files.iter().all(|file| file.path.starts_with(dir)));
                let root = files
                    .iter()
                    .find(|file| file.path == dir.join("Cargo.toml"))
                    .expect("a root manifest");
                assert!(root.text.contains("[workspace]"), "{}", root.text);
                let sdk = workspace.sdk.dir.display().to_string();
                assert!(
                    manifests
                        .iter()
                        .any(|manifest| manifest.text.contains(&sdk)),
                    "the SDK by absolute path"
                );
                let alias = files
                    .iter()
                    .find(|file| file.path.ends_with(".cargo/config.toml"))
                    .expect("an xtask alias");
                assert!(alias.text.contains("xtask/Cargo.toml"), "{}", alias.text);
                assert!(files.iter().any(|file| file.path == dir.join("Cargo.lock")));
            }
            None => {
                assert!(
                    files
                        .iter()
                        .all(|file| file.path.starts_with(&workspace.root))
                );
                assert!(
                    manifests
                        .iter()
                        .any(|manifest| manifest.text.contains("draft = true")),
                    "the plugin crate is a draft"
                );
                assert!(
                    manifests
                        .iter()
                        .all(|manifest| !manifest.text.contains("[workspace]")),
                    "a member is not a workspace root"
                );
            }
        }
    }
}

#[test]
fn adapter_template_keeps_the_shared_contract() {
    let values = [
        ("name", "kids"),
        ("name_snake", "kids"),
        ("name_camel", "Kids"),
        ("version", "0.1.0"),
        ("sdk_dependency", "{ workspace = true }"),
        ("sdk_dev_dependency", "{ workspace = true }"),
    ];
    let text: String = templates::ADAPTER
        .iter()
        .map(|template| template.render(&values).expect("renders"))
        .collect();
    assert!(text.contains("GET \"/hello\""), "{text}");
    assert!(text.contains("\"adapter\": \"kids\""), "{text}");
    assert!(text.contains("backend(\"profiles\")"), "{text}");
    assert!(text.contains("/profiles/1"), "{text}");
    assert!(text.contains("cdylib"), "{text}");
}

#[test]
fn draft_goes_into_an_existing_frontdoor_table_or_a_new_one() {
    let plain = "[package]\nname = \"kids\"\n";
    let marked = mark_draft(plain);
    let table: toml::Table = marked.parse().expect("toml");
    assert_eq!(
        table["package"]["metadata"]["frontdoor"]["draft"].as_bool(),
        Some(true)
    );

    let with_table =
        "[package]\nname = \"kids\"\n\n[package.metadata.frontdoor]\nname = \"kids\"\n";
    let marked = mark_draft(with_table);
    let table: toml::Table = marked.parse().expect("toml, not a duplicate table");
    assert_eq!(
        table["package"]["metadata"]["frontdoor"]["draft"].as_bool(),
        Some(true)
    );
    assert_eq!(
        table["package"]["metadata"]["frontdoor"]["name"].as_str(),
        Some("kids")
    );
}
