//! Our signatures and the `minisign` tool's are interchangeable: `minisign -Vm` accepts what
//! `cargo xtask signing-key` and `cargo xtask sign` make, and the host's verifier
//! (`minisign-verify`) accepts what teams make by hand with `minisign -G` and `minisign -S`.

use std::{
    fs,
    io::Write as _,
    process::{Command, Stdio},
};

use xtask::signing::{ArtifactIdentity, ArtifactKind, TeamKey, sha256_hex};

use crate::support::{MINISIGN, run, succeeds, tool_verifies, xtask};

#[test]
fn the_minisign_tool_verifies_what_xtask_signs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = dir.path().join("keys");
    let printed = succeeds(
        xtask()
            .args(["signing-key", "--team", "tv-team", "--out"])
            .arg(&keys),
    );
    let public_file = fs::read_to_string(keys.join("tv-team.pub")).expect("public key");
    let public_line = public_file.lines().nth(1).expect("base64 line");
    assert!(
        printed.contains(&format!("tv-team = [\"{public_line}\"]")),
        "prints the [fleet.keys] line: {printed}"
    );

    let artifact = dir.path().join("tv-1.3.0.so");
    let bytes = b"\x7fELF a plugin, as far as signing cares".to_vec();
    fs::write(&artifact, &bytes).expect("artifact");
    succeeds(
        xtask()
            .arg("sign")
            .arg(&artifact)
            .arg("--key")
            .arg(keys.join("tv-team.key"))
            .args(["--team", "tv-team", "--name", "tv", "--version", "1.3.0"])
            .args(["--kind", "adapter"]),
    );

    let verified = tool_verifies(&artifact, &keys.join("tv-team.pub"));
    let stdout = String::from_utf8_lossy(&verified.stdout);
    assert!(
        verified.status.success(),
        "minisign -Vm refused: {stdout}\n{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let comment = format!(
        "frontdoor-artifact name=tv version=1.3.0 team=tv-team kind=adapter sha256={}",
        sha256_hex(&bytes)
    );
    assert!(
        stdout.contains(&format!("Trusted comment: {comment}")),
        "{stdout}"
    );

    let mut changed = bytes;
    changed[0] ^= 0x20;
    fs::write(&artifact, &changed).expect("changed artifact");
    assert!(
        !tool_verifies(&artifact, &keys.join("tv-team.pub"))
            .status
            .success(),
        "a changed byte must fail"
    );
}

#[test]
fn signatures_made_by_hand_with_the_tool_verify_with_the_hosts_verifier() {
    let dir = tempfile::tempdir().expect("temp dir");
    let public = dir.path().join("team.pub");
    let secret = dir.path().join("team.key");
    // -W: no password, so nothing waits on a terminal.
    succeeds(
        Command::new(MINISIGN)
            .args(["-G", "-W", "-p"])
            .arg(&public)
            .arg("-s")
            .arg(&secret),
    );
    let artifact = dir.path().join("artwork-2.1.0.so");
    let bytes = b"a shared module".to_vec();
    fs::write(&artifact, &bytes).expect("artifact");
    let comment = ArtifactIdentity::new("artwork", "2.1.0", "media", ArtifactKind::Module)
        .expect("identity")
        .trusted_comment(&sha256_hex(&bytes));
    succeeds(
        Command::new(MINISIGN)
            .arg("-S")
            .arg("-s")
            .arg(&secret)
            .arg("-m")
            .arg(&artifact)
            .arg("-t")
            .arg(&comment),
    );

    let public_line = fs::read_to_string(&public)
        .expect("public key")
        .lines()
        .nth(1)
        .expect("base64 line")
        .to_owned();
    let signature_text =
        fs::read_to_string(dir.path().join("artwork-2.1.0.so.minisig")).expect("signature");
    let public_key = minisign_verify::PublicKey::from_base64(&public_line).expect("public key");
    let signature = minisign_verify::Signature::decode(&signature_text).expect("signature");
    public_key
        .verify(&bytes, &signature, false)
        .expect("the host's verifier accepts the tool's signature");
    assert_eq!(signature.trusted_comment(), comment);

    // The tool's unencrypted secret key also signs through xtask, and the tool agrees.
    let key = TeamKey::load(&secret).expect("the tool's key loads");
    assert_eq!(key.public_key_base64(), public_line);
    succeeds(
        xtask()
            .arg("sign")
            .arg(&artifact)
            .arg("--key")
            .arg(&secret)
            .args(["--team", "media", "--name", "artwork", "--version", "2.1.0"])
            .args(["--kind", "module"]),
    );
    assert!(tool_verifies(&artifact, &public).status.success());
}

#[test]
fn sign_refuses_bad_input_with_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let artifact = dir.path().join("tv-1.0.0.so");
    fs::write(&artifact, b"bytes").expect("artifact");
    let key = dir.path().join("k.key");
    fs::write(
        &key,
        TeamKey::generate()
            .expect("key")
            .secret_key_file("t")
            .expect("key file"),
    )
    .expect("key");

    let sign = |name: &str, version: &str, team: &str| {
        let output = run(xtask()
            .arg("sign")
            .arg(&artifact)
            .arg("--key")
            .arg(&key)
            .args(["--name", name, "--version", version, "--team", team])
            .args(["--kind", "adapter"]));
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    assert!(sign("Tv", "1.0.0", "t").contains("invalid artifact name"));
    assert!(sign("tv", "v1", "t").contains("invalid version"));
    assert!(sign("tv", "1.0.0", "a team").contains("invalid team name"));
    assert!(
        !artifact.with_extension("so.minisig").exists(),
        "nothing written on a refusal"
    );

    // signing-key never replaces a key.
    let keys = dir.path().join("keys");
    let make = || {
        run(xtask()
            .args(["signing-key", "--team", "t", "--out"])
            .arg(&keys))
    };
    assert!(make().status.success());
    let again = make();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
}

/// A key made by plain `minisign -G` is encrypted (scrypt, 1 GiB): xtask opens it with the
/// password in FRONTDOOR_SIGNING_PASSWORD, and refuses it without.
#[test]
fn an_encrypted_key_made_by_the_tool_signs_with_the_password_from_the_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let public = dir.path().join("team.pub");
    let secret = dir.path().join("team.key");
    // Without a terminal, the tool reads the password and its confirmation from stdin.
    let mut generate = Command::new(MINISIGN)
        .args(["-G", "-p"])
        .arg(&public)
        .arg("-s")
        .arg(&secret)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("minisign -G");
    generate
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"team password\nteam password\n")
        .expect("password");
    assert!(generate.wait().expect("minisign -G").success());

    let artifact = dir.path().join("tv-1.3.0.so");
    fs::write(&artifact, b"plugin bytes").expect("artifact");
    let sign = |password: Option<&str>| {
        let mut command = xtask();
        command
            .arg("sign")
            .arg(&artifact)
            .arg("--key")
            .arg(&secret)
            .args(["--team", "tv-team", "--name", "tv", "--version", "1.3.0"])
            .args(["--kind", "adapter"])
            .env_remove("FRONTDOOR_SIGNING_PASSWORD");
        if let Some(password) = password {
            command.env("FRONTDOOR_SIGNING_PASSWORD", password);
        }
        run(&mut command)
    };
    let without = sign(None);
    assert!(!without.status.success());
    assert!(String::from_utf8_lossy(&without.stderr).contains("FRONTDOOR_SIGNING_PASSWORD"));

    let with = sign(Some("team password"));
    assert!(
        with.status.success(),
        "{}",
        String::from_utf8_lossy(&with.stderr)
    );
    assert!(tool_verifies(&artifact, &public).status.success());
}
