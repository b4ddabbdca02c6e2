//! Tests of artifact signing: what `sign` writes verifies with the host's verifier
//! (`minisign-verify`) and carries the exact trusted comment; keys load and refuse as they
//! should.

use std::{fs, os::unix::fs::PermissionsExt as _};

use minisign::KeyPair;

use super::{
    ArtifactIdentity, ArtifactKind, TeamKey, sha256_hex, sign_artifact, sign_file, signature_path,
};

fn identity() -> ArtifactIdentity {
    ArtifactIdentity::new("tv", "1.3.0", "tv-team", ArtifactKind::Adapter).expect("identity")
}

/// Verifies `signature` over `artifact` as the host does: prehashed only, no legacy.
fn host_verifies(public_base64: &str, artifact: &[u8], signature: &str) -> Result<String, String> {
    let public =
        minisign_verify::PublicKey::from_base64(public_base64).map_err(|e| e.to_string())?;
    let signature = minisign_verify::Signature::decode(signature).map_err(|e| e.to_string())?;
    public
        .verify(artifact, &signature, false)
        .map_err(|e| e.to_string())?;
    Ok(signature.trusted_comment().to_owned())
}

#[test]
fn a_signature_verifies_with_the_hosts_verifier_and_carries_the_exact_comment() {
    let key = TeamKey::generate().expect("key");
    let artifact = b"\x7fELF pretend this is a plugin".to_vec();
    let signature = sign_artifact(&artifact, &key, &identity()).expect("sign");

    let comment = host_verifies(&key.public_key_base64(), &artifact, &signature).expect("verifies");
    assert_eq!(
        comment,
        format!(
            "frontdoor-artifact name=tv version=1.3.0 team=tv-team kind=adapter sha256={}",
            sha256_hex(&artifact)
        )
    );
    // The prehashed algorithm (`ED`), which the host requires: its base64 starts `RU`, the
    // legacy `Ed`'s starts `RW`.
    let lines: Vec<&str> = signature.lines().collect();
    assert_eq!(lines.len(), 4, "{signature}");
    assert!(lines[1].starts_with("RU"), "not prehashed: {}", lines[1]);
    assert_eq!(lines[2], format!("trusted comment: {comment}"));
}

#[test]
fn a_changed_byte_or_another_key_fails_verification() {
    let key = TeamKey::generate().expect("key");
    let artifact = vec![7_u8; 4096];
    let signature = sign_artifact(&artifact, &key, &identity()).expect("sign");

    let mut changed = artifact.clone();
    changed[2048] ^= 1;
    assert!(host_verifies(&key.public_key_base64(), &changed, &signature).is_err());

    let other = TeamKey::generate().expect("other key");
    assert!(host_verifies(&other.public_key_base64(), &artifact, &signature).is_err());

    // The comment is signed too: editing it breaks the signature.
    let forged = signature.replace("version=1.3.0", "version=1.3.1");
    assert_ne!(forged, signature);
    assert!(host_verifies(&key.public_key_base64(), &artifact, &forged).is_err());
}

#[test]
fn module_signatures_say_module() {
    let module = ArtifactIdentity::new("artwork", "2.0.0-rc.1", "media_team", ArtifactKind::Module)
        .expect("identity");
    assert_eq!(
        module.trusted_comment("00ff"),
        "frontdoor-artifact name=artwork version=2.0.0-rc.1 team=media_team kind=module sha256=00ff"
    );
}

#[test]
fn identities_that_do_not_fit_the_comment_are_refused_by_name() {
    let refused = |name: &str, version: &str, team: &str| {
        ArtifactIdentity::new(name, version, team, ArtifactKind::Adapter)
            .expect_err("refused")
            .to_string()
    };
    assert!(refused("TV", "1.0.0", "t").contains("invalid artifact name `TV`"));
    assert!(refused("tv app", "1.0.0", "t").contains("invalid artifact name"));
    assert!(refused("", "1.0.0", "t").contains("invalid artifact name"));
    assert!(refused("tv", "1.0", "t").contains("invalid version `1.0`"));
    assert!(refused("tv", "1.0.0", "").contains("team name is empty"));
    assert!(refused("tv", "1.0.0", "tv team").contains("invalid team name"));
    assert!(refused("tv", "1.0.0", "tv=x").contains("invalid team name"));
    assert!(refused("tv", "1.0.0", "tv\nkind=module").contains("invalid team name"));
}

#[test]
fn sign_file_writes_the_signature_beside_the_artifact_and_replaces_an_old_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let artifact = dir.path().join("tv-1.3.0.so");
    let key = TeamKey::generate().expect("key");
    for content in [&b"first build"[..], b"second build"] {
        fs::write(&artifact, content).expect("artifact");
        let signed = sign_file(&artifact, &key, &identity()).expect("sign");
        assert_eq!(
            signed.signature_path,
            dir.path().join("tv-1.3.0.so.minisig")
        );
        assert_eq!(signed.signature_path, signature_path(&artifact));
        assert_eq!(signed.sha256, sha256_hex(content));
        let written = fs::read_to_string(&signed.signature_path).expect("signature");
        assert_eq!(written, signed.signature);
        host_verifies(&key.public_key_base64(), content, &written).expect("verifies");
    }
    let mut names: Vec<_> = fs::read_dir(dir.path())
        .expect("dir")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["tv-1.3.0.so", "tv-1.3.0.so.minisig"],
        "no temp file left"
    );
}

#[test]
fn a_new_key_pair_is_written_private_and_never_over_an_existing_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = dir.path().join("tv-team.key");
    let public = dir.path().join("tv-team.pub");
    let key = TeamKey::generate().expect("key");
    key.write_new("tv-team", &secret, &public).expect("write");

    let mode = fs::metadata(&secret).expect("secret").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let reloaded = TeamKey::load(&secret).expect("reload");
    assert_eq!(reloaded.public_key_base64(), key.public_key_base64());
    let public_text = fs::read_to_string(&public).expect("public");
    assert_eq!(
        public_text.lines().nth(1),
        Some(key.public_key_base64().as_str())
    );
    assert!(key.public_key_base64().starts_with("RW"));

    let before = fs::read(&secret).expect("secret");
    let error = TeamKey::generate()
        .expect("second key")
        .write_new("tv-team", &secret, &dir.path().join("other.pub"))
        .expect_err("refused");
    assert!(
        error.to_string().contains("refusing to overwrite"),
        "{error}"
    );
    assert_eq!(
        fs::read(&secret).expect("secret"),
        before,
        "the old key is intact"
    );
    assert!(!dir.path().join("other.pub").exists());

    // An existing public key alone also stops it, before the secret key is written.
    let fresh_secret = dir.path().join("new.key");
    assert!(
        TeamKey::generate()
            .expect("third key")
            .write_new("tv-team", &fresh_secret, &public)
            .is_err()
    );
    assert!(!fresh_secret.exists());
}

#[test]
fn an_encrypted_secret_key_opens_with_its_password_only() {
    let KeyPair { pk, sk } =
        KeyPair::generate_encrypted_keypair(Some("correct horse".to_owned())).expect("key pair");
    let text = sk.to_box(None).expect("box").into_string();

    let key = TeamKey::from_secret_key_file(&text, Some("correct horse")).expect("decrypts");
    assert_eq!(key.public_key_base64(), pk.to_base64());
    let artifact = b"module bytes";
    let signature = sign_artifact(artifact, &key, &identity()).expect("sign");
    host_verifies(&pk.to_base64(), artifact, &signature).expect("verifies");

    let missing = TeamKey::from_secret_key_file(&text, None).expect_err("no password");
    assert!(
        format!("{missing:#}").contains("FRONTDOOR_SIGNING_PASSWORD"),
        "{missing:#}"
    );
    let wrong = TeamKey::from_secret_key_file(&text, Some("wrong")).expect_err("wrong password");
    assert!(format!("{wrong:#}").contains("cannot decrypt"), "{wrong:#}");
}

#[test]
fn text_that_is_no_secret_key_is_refused() {
    assert!(TeamKey::from_secret_key_file("", None).is_err());
    assert!(TeamKey::from_secret_key_file("untrusted comment: x\nnot base64\n", None).is_err());
    let public_only = TeamKey::generate()
        .expect("key")
        .public_key_file()
        .expect("public");
    assert!(TeamKey::from_secret_key_file(&public_only, None).is_err());
}

/// A key as `minisign -G -W` writes it: unencrypted, its checksum left zero.
fn without_checksum(key: &TeamKey, edit: impl FnOnce(&mut [u8])) -> String {
    use base64::{Engine as _, engine::general_purpose::STANDARD};
    let text = key.secret_key_file("t").expect("key file");
    let mut bytes = STANDARD
        .decode(text.lines().nth(1).expect("base64 line"))
        .expect("base64");
    assert_eq!(bytes.len(), 158);
    bytes[126..].fill(0);
    edit(&mut bytes);
    format!(
        "untrusted comment: minisign encrypted secret key\n{}\n",
        STANDARD.encode(bytes)
    )
}

#[test]
fn keys_without_checksum_load_only_when_their_halves_match() {
    let key = TeamKey::generate().expect("key");
    let loaded = TeamKey::from_secret_key_file(&without_checksum(&key, |_| {}), None)
        .expect("a zero checksum is the tool's way");
    assert_eq!(loaded.public_key_base64(), key.public_key_base64());

    // A flipped bit in the public half (bytes 94..126) no longer matches the secret half.
    let corrupted = without_checksum(&key, |bytes| bytes[100] ^= 1);
    let error = TeamKey::from_secret_key_file(&corrupted, None).expect_err("corrupted");
    assert!(format!("{error:#}").contains("corrupted"), "{error:#}");
}

#[test]
fn a_key_with_a_wrong_checksum_is_refused() {
    use base64::{Engine as _, engine::general_purpose::STANDARD};
    let text = TeamKey::generate()
        .expect("key")
        .secret_key_file("t")
        .expect("key file");
    let mut bytes = STANDARD
        .decode(text.lines().nth(1).expect("base64 line"))
        .expect("base64");
    bytes[70] ^= 1;
    let edited = format!("untrusted comment: x\n{}\n", STANDARD.encode(bytes));
    assert!(TeamKey::from_secret_key_file(&edited, None).is_err());
}
