//! Tests of the dev versions' order against the host's rule (the highest semver version).

use cargo_metadata::semver::Version;

use super::{dev_number, dev_version};

fn v(text: &str) -> Version {
    Version::parse(text).expect("semver")
}

#[test]
fn dev_builds_sort_above_the_release_and_below_the_next() {
    let base = v("1.2.3");
    let first = dev_version(&base, 1);
    assert_eq!(first, v("1.2.4-dev.1"));
    assert!(first > base);
    assert!(first < v("1.2.4"));
    assert!(
        dev_version(&base, 10) > dev_version(&base, 9),
        "numeric order"
    );
    // The host compares by semver precedence: build metadata would not tell them apart.
    assert!(
        dev_version(&base, 2)
            .cmp_precedence(&dev_version(&base, 1))
            .is_gt()
    );
}

#[test]
fn prereleases_get_a_dev_suffix() {
    let base = v("2.0.0-rc.1");
    let dev = dev_version(&base, 3);
    assert_eq!(dev, v("2.0.0-rc.1.dev.3"));
    assert!(dev > base && dev < v("2.0.0-rc.2"));
    assert_eq!(dev_number(&base, &dev), Some(3));
}

#[test]
fn dev_numbers_are_read_back_only_from_dev_builds_of_the_same_base() {
    let base = v("0.1.0");
    assert_eq!(dev_number(&base, &v("0.1.1-dev.42")), Some(42));
    assert_eq!(dev_number(&base, &v("0.1.0")), None);
    assert_eq!(dev_number(&base, &v("0.1.1")), None);
    assert_eq!(dev_number(&base, &v("0.2.1-dev.4")), None);
    assert_eq!(dev_number(&base, &v("0.1.1-dev.x")), None);
}
