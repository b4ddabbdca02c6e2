//! The cost of counting one device request in the metrics: `cargo bench -p frontdoor
//! --bench request_metrics`. Reports nanoseconds per request; no thresholds.
//!
//! Two figures per case: `record` is what a request adds to shared memory (a status class
//! counter and a histogram bucket plus its sum: three relaxed atomic adds into handles its
//! version built once); `tally` is what the dispatcher runs per request, that plus the
//! clock read at its start and at its end and the marks as the route is chosen (the start
//! reading is also the request's deadline base, which the dispatcher read before metrics
//! existed, so a request pays one clock read more than before). The clock read alone is
//! printed for scale. Each runs on one thread, then on two threads hitting the same route
//! (the shared cache lines of a hot route, the worst case).

use std::{
    hint::black_box,
    sync::Barrier,
    time::{Duration, Instant},
};

use frontdoor::metrics::{HostMetrics, RequestTally, VersionSeries};
use hyper::StatusCode;

const REQUESTS: u64 = 2_000_000;
const ROUNDS: usize = 5;

fn main() {
    let series = VersionSeries::leak(vec!["GET /items/{id}".into(), "GET /home".into()]);
    let metrics = HostMetrics::default();
    let record = || {
        let route = series.route(black_box(0));
        for i in 0..REQUESTS {
            route.record(
                StatusCode::OK,
                Duration::from_nanos(black_box(40_000 + i % 64)),
            );
        }
    };
    let tally = || {
        for _ in 0..REQUESTS {
            let mut tally = RequestTally::start();
            tally.adapter_found();
            tally.version_chosen(series);
            tally.route_matched(black_box(0));
            let elapsed = tally.started().elapsed();
            metrics.record_request(tally, black_box(StatusCode::OK), elapsed);
        }
    };
    let clock = || {
        for _ in 0..REQUESTS {
            black_box(tokio::time::Instant::now());
        }
    };
    println!("ns per request (best of {ROUNDS} rounds of {REQUESTS}):");
    println!("  one clock read:    {:6.1}", best(1, &clock));
    println!("  record, 1 thread:  {:6.1}", best(1, &record));
    println!("  tally,  1 thread:  {:6.1}", best(1, &tally));
    println!("  record, 2 threads: {:6.1}", best(2, &record));
    println!("  tally,  2 threads: {:6.1}", best(2, &tally));
}

/// The best round's nanoseconds per request, with `threads` threads each running `work`
/// (started together by a barrier; a round lasts until the slowest thread is done).
fn best(threads: usize, work: &(dyn Fn() + Sync)) -> f64 {
    (0..ROUNDS)
        .map(|_| {
            let barrier = Barrier::new(threads);
            let elapsed = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|_| {
                        scope.spawn(|| {
                            barrier.wait();
                            let started = Instant::now();
                            work();
                            started.elapsed()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|handle| handle.join().unwrap_or_default())
                    .max()
                    .unwrap_or_default()
            });
            elapsed.as_nanos() as f64 / REQUESTS as f64
        })
        .fold(f64::INFINITY, f64::min)
}
