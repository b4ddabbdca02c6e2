//! How R1 splits the host's CPU time between the steady run and the run with swaps, and
//! how often its poller looks.

use std::{collections::BTreeMap, time::Duration};

use super::{CpuByThread, GROUPS, POLL_INTERVAL, ReloadCpu, poll_interval};

fn snapshot(serving: u64, deployer: u64, watchdog: u64, children: u64, exited: u64) -> CpuByThread {
    let ms = Duration::from_millis;
    CpuByThread {
        threads: BTreeMap::from([
            ("tokio-rt-worker".to_owned(), ms(serving)),
            ("frontdoor-deplo".to_owned(), ms(deployer)),
            ("frontdoor-watch".to_owned(), ms(watchdog)),
        ]),
        exited_threads: ms(exited),
        children: ms(children),
    }
}

#[test]
fn each_group_s_extra_per_swap_is_its_growth_over_the_steady_run() {
    let before = snapshot(1_000, 10, 5, 0, 0);
    let between = snapshot(2_000, 10, 7, 0, 0);
    // 10 swaps: the deployer spends 30 ms, the probes 40 ms, init hooks 10 ms.
    let after = snapshot(2_900, 40, 9, 40, 10);
    let cpu = ReloadCpu::between([&before, &between, &after], [100_000, 80_000], 10);
    let by_name: Vec<(&str, f64, f64, f64)> = cpu
        .groups
        .iter()
        .map(|group| {
            let round = |ms: f64| (ms * 1e3).round() / 1e3;
            (
                group.what,
                round(group.steady_ms),
                round(group.swaps_ms),
                round(group.extra_per_swap_ms),
            )
        })
        .collect();
    assert_eq!(
        by_name,
        vec![
            (GROUPS[0], 1_000.0, 900.0, -10.0),
            (GROUPS[1], 0.0, 30.0, 3.0),
            (GROUPS[2], 0.0, 40.0, 4.0),
            (GROUPS[3], 0.0, 10.0, 1.0),
            (GROUPS[4], 2.0, 2.0, 0.0),
        ]
    );
    // 1,000 ms over 100,000 requests, 900 ms over 80,000.
    assert_eq!(cpu.serving_us_per_request, [10.0, 11.25]);
}

#[test]
fn the_poller_looks_often_at_first_then_at_a_twentieth_of_the_wait() {
    let ms = Duration::from_millis;
    assert_eq!(poll_interval(Duration::ZERO), POLL_INTERVAL);
    assert_eq!(poll_interval(ms(3)), POLL_INTERVAL, "a usual reload");
    assert_eq!(poll_interval(ms(100)), ms(5));
    assert_eq!(poll_interval(ms(1_000)), ms(50), "a probe held back");
    // A second's wait costs about 130 polls, not 5,000.
    let mut since = Duration::ZERO;
    let mut polls = 0;
    while since < ms(1_000) {
        since += poll_interval(since);
        polls += 1;
    }
    assert!((100..=150).contains(&polls), "{polls} polls");
}
