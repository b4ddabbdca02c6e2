//! The workloads reproduce the sha256 table of WORKLOADS.md.

use sha2::{Digest, Sha256};

use super::*;

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn hello_matches_the_table() {
    assert_eq!(
        sha256_hex(HELLO_BODY),
        "4062edaf750fb8074e7e83e0c9028c94e32468a8b6f1614774328ef045150f93"
    );
}

#[test]
fn home_matches_the_table() {
    for (query, expected) in crate::tests::EXPECTED_HOME {
        let body = home(query).expect("valid profile");
        assert_eq!(sha256_hex(&body), *expected, "query {query}");
        assert!(
            (4489..=4525).contains(&body.len()),
            "size {} for {query}",
            body.len()
        );
    }
}

#[test]
fn invalid_profiles_are_refused() {
    for query in [
        "",
        "profile=",
        "profile=1000",
        "profile=-1",
        "profile=1a",
        "x=1",
        "profile=%31",
    ] {
        assert_eq!(home(query), Err(BadProfile), "query {query:?}");
    }
}

#[test]
fn the_first_profile_parameter_wins() {
    assert_eq!(profile_from_query("a=b&profile=7&profile=8"), Ok(7));
    assert_eq!(profile_from_query("profile=x&profile=8"), Err(BadProfile));
}

pub(crate) const EXPECTED_HOME: &[(&str, &str)] = &[
    (
        "profile=0",
        "64facf4628fd8bdfe91b78c2d43d216d5e215db55fd4bf64fddf05115db3948f",
    ),
    (
        "profile=1",
        "a4f9ae052df89bb0311c695561b9e77b6864467a34d77644c484756d45023b4e",
    ),
    (
        "profile=17",
        "3334176368566ca3665c3d3284dd1481a74a911a3c20d2d1e271fd3adeb16d10",
    ),
    (
        "profile=123",
        "6b213655b3e43b0de2c97dd52948b73babbcf535b00709cc23a9d94b29878124",
    ),
    (
        "profile=500",
        "6e2006d75e659c5ecc1340ded53e50a6828d646000292ebdea3ae18f141c5a15",
    ),
    (
        "profile=999",
        "777783d7d0988c052df9d7926647cf9e732e7d18252b02edd84e2421513c92f4",
    ),
    (
        "profile=007",
        "47d4370d342d56a59efa504e14eebc1c0de3a52110bc11905c9fe5b6dc134d50",
    ),
];
