//! When a published version that could not be installed is tried again: soon after the
//! first failure, then half as often after each, up to a ceiling. A store that was down is
//! caught up with within the ceiling, while an artifact refused for good (altered, signed
//! by no team's key) is not downloaded and verified again every few hundred milliseconds:
//! on a debug build one try of a 20 MiB artifact costs a core for over a second, and a
//! desired loop busy re-verifying it is late with every new version.

use std::{collections::HashMap, time::Duration};

use tokio::time::Instant;

/// The longest pause between two tries of one version, whatever the back-off says.
pub const CEILING: Duration = Duration::from_secs(60);

/// The failed versions of one host and when each is due again, by artifact file name.
#[derive(Debug)]
pub struct Retries {
    first: Duration,
    ceiling: Duration,
    failed: HashMap<String, Failed>,
}

#[derive(Debug, Clone, Copy)]
struct Failed {
    tries: u32,
    due: Instant,
}

impl Retries {
    /// The first retry comes `first` after a failure (the fleet's `max_backoff`).
    pub fn new(first: Duration) -> Self {
        Self {
            first,
            ceiling: CEILING.max(first),
            failed: HashMap::new(),
        }
    }

    /// Whether `file` may be tried at `now`: never tried, succeeded, or its pause is over.
    pub fn is_due(&self, file: &str, now: Instant) -> bool {
        self.failed.get(file).is_none_or(|failed| failed.due <= now)
    }

    /// `file` failed at `now`: its next try waits twice as long as the last pause did.
    pub fn failed(&mut self, file: &str, now: Instant) {
        let tries = self.failed.get(file).map_or(0, |failed| failed.tries) + 1;
        let doubling = 2u32.saturating_pow(tries.saturating_sub(1).min(16));
        let pause = self.first.saturating_mul(doubling).min(self.ceiling);
        self.failed.insert(
            file.to_owned(),
            Failed {
                tries,
                due: now + pause,
            },
        );
    }

    /// `file` is installed: it starts afresh if it ever fails again.
    pub fn succeeded(&mut self, file: &str) {
        self.failed.remove(file);
    }

    /// Forgets every version but those `published` (one unpublished and published again
    /// is a new version to this host).
    pub fn retain(&mut self, published: impl Fn(&str) -> bool) {
        self.failed.retain(|file, _| published(file));
    }

    /// When the next failed version is due, if any is.
    pub fn next_due(&self) -> Option<Instant> {
        self.failed.values().map(|failed| failed.due).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: Duration = Duration::from_millis(250);

    #[test]
    fn a_failed_version_waits_twice_as_long_after_each_failure_up_to_the_ceiling() {
        let start = Instant::now();
        let mut retries = Retries::new(FIRST);
        assert!(retries.is_due("a.so", start), "never tried: due");
        assert_eq!(retries.next_due(), None);
        let mut now = start;
        let mut pauses = Vec::new();
        for _ in 0..12 {
            retries.failed("a.so", now);
            let due = retries.next_due().expect("a failure is due again");
            assert!(!retries.is_due("a.so", now));
            assert!(!retries.is_due("a.so", due - Duration::from_millis(1)));
            assert!(retries.is_due("a.so", due));
            pauses.push(due - now);
            now = due;
        }
        assert_eq!(pauses[0], FIRST);
        assert_eq!(pauses[1], FIRST * 2);
        assert_eq!(pauses[4], FIRST * 16);
        assert_eq!(*pauses.last().expect("pauses"), CEILING);
        assert!(pauses.windows(2).all(|pair| pair[0] <= pair[1]));
    }

    #[test]
    fn success_and_unpublishing_start_a_version_afresh_and_others_keep_their_pause() {
        let now = Instant::now();
        let mut retries = Retries::new(FIRST);
        for _ in 0..5 {
            retries.failed("a.so", now);
        }
        retries.failed("b.so", now);
        assert_eq!(retries.next_due(), Some(now + FIRST), "b.so is due first");
        retries.succeeded("b.so");
        assert_eq!(retries.next_due(), Some(now + FIRST * 16));
        retries.failed("b.so", now);
        assert_eq!(retries.next_due(), Some(now + FIRST), "b.so starts afresh");
        retries.retain(|file| file == "b.so");
        assert!(retries.is_due("a.so", now), "a.so unpublished: forgotten");
        assert!(!retries.is_due("b.so", now));
    }

    #[test]
    fn a_huge_first_pause_is_its_own_ceiling_and_nothing_overflows() {
        let now = Instant::now();
        let mut retries = Retries::new(Duration::from_secs(600));
        for _ in 0..100 {
            retries.failed("a.so", now);
        }
        assert_eq!(retries.next_due(), Some(now + Duration::from_secs(600)));
    }
}
