//! Tests of publish's checks before a build and of the command it prints.

use std::{fs, path::Path};

use cargo_metadata::semver::Version;
use xtask::signing::{ArtifactKind, TeamKey};

use super::{artifact_kind, check_config_trusts, publish_command, shell_line};
use crate::{build_plugin::Installed, workspace::PluginKind};

fn installed(kind: Option<PluginKind>) -> Installed {
    Installed {
        name: "tv".to_owned(),
        version: Version::new(1, 3, 0),
        kind,
        path: "/tmp/out/tv-1.3.0.so".into(),
        bytes: 1,
        debug: None,
    }
}

#[test]
fn the_kind_comes_from_the_workspace_or_else_from_the_flag() {
    let adapter = installed(Some(PluginKind::Adapter));
    assert_eq!(
        artifact_kind(&adapter, None).expect("kind"),
        ArtifactKind::Adapter
    );
    assert_eq!(
        artifact_kind(&adapter, Some(ArtifactKind::Adapter)).expect("kind"),
        ArtifactKind::Adapter
    );
    let clash = artifact_kind(&adapter, Some(ArtifactKind::Module)).expect_err("clash");
    assert!(clash.to_string().contains("kind adapter"), "{clash}");

    let module = installed(Some(PluginKind::SharedModule));
    assert_eq!(
        artifact_kind(&module, None).expect("kind"),
        ArtifactKind::Module
    );

    let external = installed(None);
    let missing = artifact_kind(&external, None).expect_err("kind needed");
    assert!(missing.to_string().contains("--kind"), "{missing}");
    assert_eq!(
        artifact_kind(&external, Some(ArtifactKind::Module)).expect("kind"),
        ArtifactKind::Module
    );
}

#[test]
fn the_config_must_trust_the_key_for_the_team() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("frontdoor.toml");
    let key = TeamKey::generate().expect("key");
    let other = TeamKey::generate().expect("other key");
    let check = |text: &str| {
        fs::write(&config, text).expect("config");
        check_config_trusts(&config, "tv-team", &key).map_err(|error| format!("{error:#}"))
    };

    let trusted = format!(
        "[fleet.keys]\ntv-team = [\"{}\", \"{}\"]\n",
        other.public_key_base64(),
        key.public_key_base64()
    );
    check(&trusted).expect("trusted");

    let no_entry = check("[fleet.keys]\nmobile = []\n").expect_err("no entry");
    assert!(
        no_entry.contains(&format!("tv-team = [\"{}\"]", key.public_key_base64())),
        "the error shows the line to add: {no_entry}"
    );
    assert!(check("").is_err(), "no [fleet] at all");

    let other_key = format!(
        "[fleet.keys]\ntv-team = [\"{}\"]\n",
        other.public_key_base64()
    );
    let untrusted = check(&other_key).expect_err("not listed");
    assert!(untrusted.contains("does not list"), "{untrusted}");

    assert!(
        check("[fleet\n")
            .expect_err("bad toml")
            .contains("cannot parse")
    );
    assert!(check_config_trusts(&dir.path().join("missing.toml"), "tv-team", &key).is_err());
}

#[test]
fn the_publish_command_is_printed_ready_for_a_shell() {
    let command = publish_command(
        Path::new("/w/target/release/frontdoor"),
        Path::new("/etc/front door/fd.toml"),
        Path::new("/tmp/x/tv-1.3.0.so"),
    );
    assert_eq!(
        shell_line(&command),
        "/w/target/release/frontdoor fleet publish --config '/etc/front door/fd.toml' /tmp/x/tv-1.3.0.so"
    );
}
