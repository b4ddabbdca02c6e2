//! The fleet commands of a team: `signing-key` makes its key pair, `sign` signs one
//! artifact, `publish` builds, signs and hands an artifact to `frontdoor fleet publish`.
//! The signing itself is the library's ([`xtask::signing`]).

pub mod publish;
pub mod sign;
pub mod signing_key;
