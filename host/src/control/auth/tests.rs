//! Tokens, scopes and ownership, on hand-made headers.

use hyper::{HeaderMap, StatusCode, header::AUTHORIZATION};

use super::*;

const TV: &str = "tv-secret-token";
const READER: &str = "reader-secret-token";
const ROOT: &str = "root-secret-token";

fn config() -> AuthConfig {
    let file: AuthFileConfig = toml::from_str(&format!(
        r#"
        [[tokens]]
        team = "tv-team"
        sha256 = "{}"
        scopes = ["deploy"]
        [[tokens]]
        team = "observers"
        sha256 = "{}"
        scopes = ["read"]
        [[tokens]]
        team = "platform"
        sha256 = "{}"
        scopes = ["admin"]
        [owners]
        tv = "tv-team"
        mobile = "mobile-team"
        "#,
        digest_hex(TV),
        digest_hex(READER),
        digest_hex(ROOT).to_uppercase(),
    ))
    .expect("parses");
    file.resolve().expect("valid")
}

fn bearer(value: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_bytes(value).expect("header value"),
    );
    headers
}

fn token(token: &str) -> HeaderMap {
    bearer(format!("Bearer {token}").as_bytes())
}

fn status(result: Result<Caller, EdgeError>) -> StatusCode {
    match result {
        Ok(_) => StatusCode::OK,
        Err(error) => error.status,
    }
}

#[test]
fn teams_change_what_they_own_readers_read_admins_do_everything() {
    let auth = config();
    let tv = token(TV);
    assert_eq!(
        auth.authorize(&tv, Action::Change("tv"))
            .expect("owner")
            .team,
        "tv-team"
    );
    assert_eq!(status(auth.authorize(&tv, Action::Read)), StatusCode::OK);
    assert_eq!(
        status(auth.authorize(&tv, Action::Change("mobile"))),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(auth.authorize(&tv, Action::Change("unowned"))),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(auth.authorize(&tv, Action::ChangeHost)),
        StatusCode::FORBIDDEN
    );
    let reader = token(READER);
    assert_eq!(
        status(auth.authorize(&reader, Action::Read)),
        StatusCode::OK
    );
    assert_eq!(
        status(auth.authorize(&reader, Action::Change("tv"))),
        StatusCode::FORBIDDEN
    );
    let root = token(ROOT);
    for action in [
        Action::Read,
        Action::Change("tv"),
        Action::Change("mobile"),
        Action::ChangeHost,
    ] {
        assert_eq!(status(auth.authorize(&root, action)), StatusCode::OK);
    }
}

#[test]
fn missing_malformed_and_unknown_tokens_are_401() {
    let auth = config();
    let long = format!("Bearer {}", "a".repeat(20_000));
    let cases: Vec<HeaderMap> = vec![
        HeaderMap::new(),
        bearer(b"Bearer"),
        bearer(b"Bearer "),
        bearer(b"Basic dHY6c2VjcmV0"),
        bearer(b"Bearertv-secret-token"),
        bearer(b"Bearer \xff\xfe"),
        bearer(long.as_bytes()),
        token("tv-secret-tokem"),
        token("tv-secret token"),
        token(&format!("{TV}x")),
        // The digest itself is not a token.
        token(&digest_hex(TV)),
    ];
    for headers in cases {
        assert_eq!(
            status(auth.authorize(&headers, Action::Read)),
            StatusCode::UNAUTHORIZED,
            "{headers:?}"
        );
    }
}

#[test]
fn the_scheme_is_case_insensitive() {
    let auth = config();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let headers = bearer(format!("{scheme} {TV}").as_bytes());
        assert_eq!(
            status(auth.authorize(&headers, Action::Read)),
            StatusCode::OK
        );
    }
}

#[test]
fn without_tokens_everyone_on_loopback_may_act_and_other_addresses_are_refused() {
    let auth = AuthConfig::default();
    assert_eq!(
        auth.authorize(&HeaderMap::new(), Action::ChangeHost)
            .expect("open")
            .team,
        "loopback"
    );
    assert!(check_listen(&auth, "127.0.0.1:8081".parse().expect("addr")).is_ok());
    assert!(check_listen(&auth, "[::1]:8081".parse().expect("addr")).is_ok());
    let refused = check_listen(&auth, "0.0.0.0:8081".parse().expect("addr")).expect_err("refused");
    assert!(refused.contains("0.0.0.0:8081"), "{refused}");
    assert!(check_listen(&config(), "0.0.0.0:8081".parse().expect("addr")).is_ok());
}

#[test]
fn the_config_holds_digests_only() {
    let clear: Result<AuthFileConfig, _> = toml::from_str(
        r#"
        [[tokens]]
        team = "tv-team"
        token = "tv-secret-token"
        scopes = ["read"]
        "#,
    );
    assert!(clear.is_err(), "a clear token field is refused");
    for digest in [
        "tv-secret-token",
        &digest_hex(TV)[..63],
        &format!("+{}", &digest_hex(TV)[1..]),
    ] {
        let file: AuthFileConfig = toml::from_str(&format!(
            "[[tokens]]\nteam = \"t\"\nsha256 = \"{digest}\"\nscopes = [\"read\"]\n"
        ))
        .expect("parses");
        let error = file.resolve().expect_err("not a digest");
        assert!(error.contains("sha256sum"), "{error}");
    }
}

#[test]
fn the_digest_is_sha256_in_lowercase_hex() {
    // printf %s abc | sha256sum
    assert_eq!(
        digest_hex("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn a_console_login_holds_the_token_s_rights_and_nothing_more() {
    let config = config();
    let (tv, caller) = config.login(TV).expect("tv logs in");
    assert_eq!(caller.team, "tv-team");
    assert!(config.authorize_principal(&tv, Action::Read).is_ok());
    assert!(
        config
            .authorize_principal(&tv, Action::Change("tv"))
            .is_ok()
    );
    assert_eq!(
        status(config.authorize_principal(&tv, Action::Change("mobile"))),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(config.authorize_principal(&tv, Action::ChangeHost)),
        StatusCode::FORBIDDEN
    );
    let (reader, _) = config.login(READER).expect("a reader logs in");
    assert_eq!(
        status(config.authorize_principal(&reader, Action::Change("tv"))),
        StatusCode::FORBIDDEN
    );
    // The digest is not shown in logs.
    assert_eq!(format!("{tv:?}"), "Principal");
    // A principal from another host's tokens is nobody here.
    let mut other = AuthConfig::default();
    assert!(other.add_token("x", &digest_hex("another-token"), &[Scope::Admin]));
    let (stranger, _) = other.login("another-token").expect("logs in there");
    assert_eq!(
        status(config.authorize_principal(&stranger, Action::Read)),
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn unknown_empty_and_odd_tokens_do_not_log_in() {
    let config = config();
    for token in [
        "",
        " ",
        "not-a-token",
        "tv-secret-token\u{0}",
        &"x".repeat(2000),
    ] {
        assert_eq!(
            config
                .login(token)
                .map(|(_, caller)| caller)
                .err()
                .map(|e| e.status),
            Some(StatusCode::UNAUTHORIZED),
            "{token:?}"
        );
    }
    // Without tokens anyone (loopback only) logs in as loopback, with every right.
    let open = AuthConfig::default();
    let (principal, caller) = open.login("").expect("open host");
    assert_eq!(caller.team, "loopback");
    assert!(
        open.authorize_principal(&principal, Action::ChangeHost)
            .is_ok()
    );
}
