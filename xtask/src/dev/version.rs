//! The dev loop's versions: every rebuild is a new, higher semver version without touching
//! the author's `Cargo.toml`.
//!
//! From `1.2.3` the dev builds are `1.2.4-dev.1`, `1.2.4-dev.2`, ...: a prerelease of the
//! next patch, so each one is above the released `1.2.3` (the host routes to the highest
//! version) and below the next real release `1.2.4`; numeric prerelease identifiers order
//! numerically (`dev.10` > `dev.9`). From a prerelease `2.0.0-rc.1` they are
//! `2.0.0-rc.1.dev.N`, above it and below `2.0.0-rc.2`.

use cargo_metadata::semver::{Prerelease, Version};

/// The `n`th dev build of `base`.
pub fn dev_version(base: &Version, n: u64) -> Version {
    let mut version = base.clone();
    version.build = cargo_metadata::semver::BuildMetadata::EMPTY;
    let pre = if base.pre.is_empty() {
        version.patch += 1;
        format!("dev.{n}")
    } else {
        format!("{}.dev.{n}", base.pre)
    };
    // `pre` is built from a valid prerelease and ASCII digits.
    version.pre = Prerelease::new(&pre).unwrap_or(Prerelease::EMPTY);
    version
}

/// `Some(n)` when `version` is the `n`th dev build of `base`.
pub fn dev_number(base: &Version, version: &Version) -> Option<u64> {
    let first = dev_version(base, 0);
    let prefix = first.pre.as_str().strip_suffix('0')?;
    if (version.major, version.minor, version.patch) != (first.major, first.minor, first.patch) {
        return None;
    }
    version.pre.as_str().strip_prefix(prefix)?.parse().ok()
}

#[cfg(test)]
mod tests;
