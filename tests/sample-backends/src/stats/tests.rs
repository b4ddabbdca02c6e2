//! Counting, the high-water mark, resets and the cap on distinct paths.

use super::*;

#[test]
fn counts_per_path_and_tracks_the_high_water_mark() {
    let recorder = Arc::new(Recorder::default());
    let first = recorder.begin("GET /ping".to_owned());
    let second = recorder.begin("GET /ping".to_owned());
    let third = recorder.begin("GET /titles/80000001".to_owned());
    drop((first, second));
    let stats = recorder.snapshot();
    assert_eq!(stats.requests, 3);
    assert_eq!(stats.in_flight, 1);
    assert_eq!(stats.max_in_flight, 3);
    assert_eq!(stats.by_path["GET /ping"], 2);
    assert_eq!(stats.by_path["GET /titles/80000001"], 1);
    drop(third);
    assert_eq!(recorder.snapshot().in_flight, 0);
}

#[test]
fn reset_keeps_what_is_still_in_flight() {
    let recorder = Arc::new(Recorder::default());
    let open = recorder.begin("GET /ping".to_owned());
    drop(recorder.begin("GET /ping".to_owned()));
    recorder.reset();
    assert_eq!(
        recorder.snapshot(),
        Stats {
            in_flight: 1,
            max_in_flight: 1,
            ..Stats::default()
        }
    );
    drop(open);
    let stats = recorder.snapshot();
    assert_eq!((stats.in_flight, stats.max_in_flight), (0, 1));
}

#[test]
fn distinct_paths_are_capped() {
    let recorder = Arc::new(Recorder::default());
    for i in 0..MAX_PATHS + 5 {
        drop(recorder.begin(format!("GET /junk/{i}")));
    }
    drop(recorder.begin("GET /junk/0".to_owned()));
    let stats = recorder.snapshot();
    assert_eq!(stats.by_path.len(), MAX_PATHS + 1);
    assert_eq!(stats.by_path[OTHER_PATHS], 5);
    assert_eq!(stats.by_path["GET /junk/0"], 2);
    assert_eq!(stats.requests, MAX_PATHS as u64 + 6);
}
