//! Signatures as an attacker would try them: other bytes, another team's key, a name the
//! signer does not own, a claim that does not match the bytes, and garbage.

use std::collections::BTreeMap;

use minisign::KeyPair;
use sha2::{Digest as _, Sha256};

use super::*;

struct Team {
    name: &'static str,
    keys: KeyPair,
}

impl Team {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            keys: KeyPair::generate_unencrypted_keypair().expect("a key pair"),
        }
    }

    fn public(&self) -> String {
        self.keys.pk.to_base64()
    }

    /// Signs `bytes` with `comment` as the trusted comment.
    fn sign_with_comment(&self, bytes: &[u8], comment: &str) -> String {
        minisign::sign(
            Some(&self.keys.pk),
            &self.keys.sk,
            bytes,
            Some(comment),
            None,
        )
        .expect("signed")
        .to_string()
    }

    /// Signs `bytes` as `name@1.2.0`, with their real digest.
    fn sign(&self, bytes: &[u8], name: &str) -> String {
        self.sign_with_comment(
            bytes,
            &comment(name, self.name, &hex(&Sha256::digest(bytes))),
        )
    }
}

fn comment(name: &str, team: &str, sha256: &str) -> String {
    format!("frontdoor-artifact name={name} version=1.2.0 team={team} kind=adapter sha256={sha256}")
}

fn trust(teams: &[&Team], owners: &[(&str, &str)]) -> Trust {
    let keys: BTreeMap<String, Vec<String>> = teams
        .iter()
        .map(|team| (team.name.to_owned(), vec![team.public()]))
        .collect();
    let owners = owners
        .iter()
        .map(|(name, team)| ((*name).to_owned(), (*team).to_owned()))
        .collect();
    Trust::new(&keys, owners).expect("keys parse")
}

const BYTES: &[u8] = b"\x7fELF pretend this is a shared object";

#[test]
fn a_signature_by_the_owning_team_is_trusted_and_says_what_it_signed() {
    let tv = Team::new("tv-team");
    let trust = trust(&[&tv], &[("tv", "tv-team")]);
    let claim = trust
        .verify(&mut &BYTES[..], &tv.sign(BYTES, "tv"))
        .expect("trusted");
    assert_eq!(claim.plugin(), "tv@1.2.0");
    assert_eq!(claim.team, "tv-team");
    assert_eq!(claim.kind, ClaimedKind::Adapter);
    assert_eq!(claim.sha256, hex(&Sha256::digest(BYTES)));
    assert_eq!(claim.to_string(), comment("tv", "tv-team", &claim.sha256));
}

#[test]
fn one_changed_byte_breaks_the_signature() {
    let tv = Team::new("tv-team");
    let trust = trust(&[&tv], &[("tv", "tv-team")]);
    let signature = tv.sign(BYTES, "tv");
    let mut altered = BYTES.to_vec();
    altered[10] ^= 1;
    assert_eq!(
        trust.verify(&mut &altered[..], &signature),
        Err(SignatureError::Invalid)
    );
}

#[test]
fn an_edited_trusted_comment_breaks_the_signature() {
    let tv = Team::new("tv-team");
    let trust = trust(&[&tv], &[("tv", "tv-team"), ("mobile", "tv-team")]);
    let signature = tv.sign(BYTES, "tv").replace("name=tv ", "name=mobile ");
    assert_eq!(
        trust.verify(&mut &BYTES[..], &signature),
        Err(SignatureError::Invalid)
    );
}

#[test]
fn a_team_cannot_sign_for_a_name_another_team_owns() {
    let tv = Team::new("tv-team");
    let mobile = Team::new("mobile-team");
    let trust = trust(
        &[&tv, &mobile],
        &[("tv", "tv-team"), ("mobile", "mobile-team")],
    );
    let error = trust
        .verify(&mut &BYTES[..], &mobile.sign(BYTES, "tv"))
        .expect_err("refused");
    assert!(
        matches!(&error, SignatureError::NotOwner { owner, .. } if owner == "tv-team"),
        "{error}"
    );
    // A name nobody owns is not trusted either.
    let error = trust
        .verify(&mut &BYTES[..], &tv.sign(BYTES, "kids"))
        .expect_err("refused");
    assert_eq!(error, SignatureError::Unowned("kids".into()));
}

#[test]
fn a_key_that_is_not_the_claimed_team_s_is_refused() {
    let tv = Team::new("tv-team");
    let impostor = Team::new("tv-team");
    let trust = trust(&[&tv], &[("tv", "tv-team")]);
    let error = trust
        .verify(&mut &BYTES[..], &impostor.sign(BYTES, "tv"))
        .expect_err("refused");
    assert_eq!(
        error,
        SignatureError::WrongKey {
            team: "tv-team".into()
        }
    );
    let stranger = Team::new("unknown-team");
    let error = trust
        .verify(&mut &BYTES[..], &stranger.sign(BYTES, "tv"))
        .expect_err("refused");
    assert_eq!(error, SignatureError::UnknownTeam("unknown-team".into()));
}

#[test]
fn a_signature_over_bytes_other_than_its_claimed_digest_is_refused() {
    let tv = Team::new("tv-team");
    let trust = trust(&[&tv], &[("tv", "tv-team")]);
    let other_digest = hex(&Sha256::digest(b"other bytes"));
    let signature = tv.sign_with_comment(BYTES, &comment("tv", "tv-team", &other_digest));
    let error = trust
        .verify(&mut &BYTES[..], &signature)
        .expect_err("refused");
    assert!(matches!(error, SignatureError::Digest { .. }), "{error}");
}

#[test]
fn garbage_and_foreign_comments_are_refused_with_a_reason() {
    let tv = Team::new("tv-team");
    let trust = trust(&[&tv], &[("tv", "tv-team")]);
    for garbage in ["", "not a signature", "untrusted comment: x\nAAAA\n"] {
        assert!(
            matches!(
                trust.verify(&mut &BYTES[..], garbage),
                Err(SignatureError::Unreadable(_))
            ),
            "{garbage:?}"
        );
    }
    for foreign in [
        "signed by hand",
        "frontdoor-artifact name=tv version=1.2.0 team=tv-team kind=adapter",
        "frontdoor-artifact name=tv version=one team=tv-team kind=adapter sha256=00",
        "frontdoor-artifact name=TV version=1.2.0 team=tv-team kind=adapter sha256=0000000000000000000000000000000000000000000000000000000000000000",
        "frontdoor-artifact name=tv version=1.2.0 team=tv-team kind=script sha256=0000000000000000000000000000000000000000000000000000000000000000",
        "frontdoor-artifact name=tv version=1.2.0 team=tv-team kind=adapter sha256=0000000000000000000000000000000000000000000000000000000000000000 extra=1",
    ] {
        let signature = tv.sign_with_comment(BYTES, foreign);
        assert!(
            matches!(
                trust.verify(&mut &BYTES[..], &signature),
                Err(SignatureError::Comment(_))
            ),
            "{foreign:?}"
        );
    }
}

#[test]
fn a_key_that_is_not_minisign_is_a_config_error_naming_the_team() {
    let keys = BTreeMap::from([("tv-team".to_owned(), vec!["RWnotakey".to_owned()])]);
    let error = Trust::new(&keys, BTreeMap::new()).expect_err("refused");
    assert!(error.contains("fleet.keys.tv-team"), "{error}");
}
