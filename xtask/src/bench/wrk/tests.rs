//! Tests of wrk's command line and of the report parser, on reports as wrk 4 prints them.

use super::{SocketErrors, Wrk, parse, time_us};

const CLEAN: &str = "\
Running 5s test @ http://127.0.0.1:40001/bench/hello
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   265.12us   80.33us   4.12ms   91.20%
    Req/Sec   121.37k     3.02k  126.81k    78.00%
  Latency Distribution
     50%  251.00us
     75%  280.00us
     90%  330.00us
     99%    1.02ms
  603912 requests in 5.00s, 71.41MB read
Requests/sec: 120781.43
Transfer/sec:     14.28MB
";

const FAILING: &str = "\
Running 10s test @ http://127.0.0.1:40001/bench/home?profile=7
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.51ms    2.10ms  40.00ms   95.00%
    Req/Sec    21.00k     1.00k   23.00k    70.00%
  Latency Distribution
     50%    1.20ms
     75%    1.40ms
     90%    1.90ms
     99%    1.50s
  210000 requests in 10.00s, 950.00MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 17
Requests/sec:  21000.00
Transfer/sec:     95.00MB
";

#[test]
fn a_clean_report_is_parsed() {
    let stats = parse(CLEAN).expect("valid report");
    assert_eq!(stats.requests, 603_912);
    assert_eq!(stats.duration_secs, 5.0);
    assert_eq!(stats.requests_per_sec, 120_781.43);
    assert_eq!(stats.p50_us, 251.0);
    assert_eq!(stats.p99_us, 1020.0);
    assert_eq!(stats.failures(), 0);
}

#[test]
fn failures_are_non_2xx_plus_socket_errors() {
    let stats = parse(FAILING).expect("valid report");
    assert_eq!(stats.non_2xx_3xx, 17);
    assert_eq!(
        stats.socket_errors,
        SocketErrors {
            connect: 0,
            read: 3,
            write: 1,
            timeout: 2
        }
    );
    assert_eq!(stats.failures(), 23);
    assert_eq!(stats.p99_us, 1_500_000.0);
}

#[test]
fn a_report_without_latency_distribution_is_an_error() {
    let without: String = CLEAN
        .lines()
        .filter(|line| !line.contains('%') || line.contains("Stdev"))
        .map(|line| format!("{line}\n"))
        .collect();
    let error = parse(&without).expect_err("no percentiles");
    assert!(format!("{error:#}").contains("--latency"), "{error:#}");
    assert!(parse("unable to connect to 127.0.0.1:1 Connection refused").is_err());
}

#[test]
fn durations_in_every_unit() {
    assert_eq!(time_us("812.00us").expect("us"), 812.0);
    assert_eq!(time_us("1.25ms").expect("ms"), 1250.0);
    assert_eq!(time_us("5.00s").expect("s"), 5e6);
    assert_eq!(time_us("1.50m").expect("m"), 90e6);
    assert!(time_us("12").is_err());
}

#[test]
fn the_command_line_is_pinned_when_asked() {
    let url = "http://127.0.0.1:1/bench/hello";
    assert_eq!(
        Wrk::new(Some(1)).command_line(url, 5).join(" "),
        format!("taskset -c 1 wrk -t1 -c32 -d5s --latency {url}")
    );
    assert_eq!(
        Wrk::new(None).command_line(url, 2).join(" "),
        format!("wrk -t1 -c32 -d2s --latency {url}")
    );
}

#[test]
fn the_command_line_carries_the_connection_count() {
    let url = "http://127.0.0.1:1/bench/fanout";
    assert_eq!(
        Wrk::new(Some(1))
            .with_connections(8)
            .command_line(url, 5)
            .join(" "),
        format!("taskset -c 1 wrk -t1 -c8 -d5s --latency {url}")
    );
}
