//! Tests of the `/proc` parsers, on captured text and on this very process.

use super::{
    Stat, core_busy, cpu_by_thread, cpu_time, parse_core_busy_ticks, parse_cpu_ticks,
    parse_rss_kib, parse_stat, rss_kib,
};

#[test]
fn cpu_ticks_are_utime_plus_stime_even_with_odd_command_names() {
    let stat = "4242 (tokio (rt) 1) S 1 4242 4242 0 -1 4194560 5000 0 0 0 1234 567 0 0 20 0 9 0 100 1000 200 18446744073709551615";
    assert_eq!(parse_cpu_ticks(stat).expect("valid"), 1234 + 567);
}

#[test]
fn truncated_stat_is_an_error() {
    assert!(parse_cpu_ticks("4242 (frontdoor) S 1 2 3").is_err());
    assert!(parse_cpu_ticks("no parentheses at all").is_err());
}

#[test]
fn rss_is_read_in_kib() {
    let status = "Name:\tfrontdoor\nVmPeak:\t  200000 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
    assert_eq!(parse_rss_kib(status).expect("valid"), 12345);
    assert!(
        parse_rss_kib("Name:\tkthreadd\n").is_err(),
        "kernel threads have none"
    );
}

#[test]
fn core_busy_time_leaves_out_idle_and_iowait() {
    let stat = "cpu  300 0 100 9000 50 5 5 20 0 0\ncpu0 100 1 50 4000 25 2 3 10 0 0\ncpu1 200 0 50 5000 25 3 2 10 0 0\nintr 12345\n";
    assert_eq!(
        parse_core_busy_ticks(stat, 0).expect("cpu0"),
        100 + 1 + 50 + 2 + 3 + 10
    );
    assert_eq!(
        parse_core_busy_ticks(stat, 1).expect("cpu1"),
        200 + 50 + 3 + 2 + 10
    );
    assert!(parse_core_busy_ticks(stat, 2).is_err(), "no such core");
    assert!(
        parse_core_busy_ticks("cpu0 1 2 3\n", 0).is_err(),
        "too few fields"
    );
}

#[test]
fn this_process_has_cpu_time_and_memory() {
    let pid = std::process::id();
    let busy: u64 = (0..2_000_000u64).map(|i| i % 7).sum();
    assert!(busy > 0);
    assert!(cpu_time(pid).expect("cpu time") > std::time::Duration::ZERO);
    assert!(rss_kib(pid).expect("rss") > 0);
    assert!(core_busy(0).expect("core 0") > std::time::Duration::ZERO);
}

#[test]
fn a_stat_line_gives_the_name_and_the_children_s_time() {
    let stat = "4242 (frontdoor-deplo) S 1 4242 4242 0 -1 4194560 5000 0 0 0 1234 567 89 10 20 0 9 0 100 1000 200 18446744073709551615";
    assert_eq!(
        parse_stat(stat).expect("valid"),
        Stat {
            name: "frontdoor-deplo".to_owned(),
            cpu_ticks: 1234 + 567,
            children_ticks: 89 + 10,
        }
    );
    let odd = "7 (init a) b@1.0.0)) R 1 7 7 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 1 1 1 1";
    assert_eq!(parse_stat(odd).expect("valid").name, "init a) b@1.0.0)");
}

#[test]
fn this_process_s_threads_are_found_by_name() {
    let (started, running) = std::sync::mpsc::channel();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    // The name is set by the new thread itself as it starts: read /proc after that.
    let busy = std::thread::Builder::new()
        .name("procfs-test".into())
        .spawn(move || {
            started.send(()).expect("send");
            // Until `stop` is dropped.
            let _ = stopped.recv();
        })
        .expect("spawn");
    running.recv().expect("the thread started");
    let cpu = cpu_by_thread(std::process::id()).expect("own /proc");
    assert!(cpu.threads.contains_key("procfs-test"), "{cpu:?}");
    drop(stop);
    busy.join().expect("join");
}
