//! The block of the adapter against bare hyper: CPU per request first (what shows the host's
//! own work), then requests/s and p99, each with both medians.

use std::fmt::Write as _;

use super::{latency, thousands};
use crate::bench::floors::Floors;

pub fn block(floors: &Floors) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "Against bare hyper ({}), adapter / bare of the medians:",
        floors.what
    );
    let _ = writeln!(
        out,
        "  {:<4}  {:>27}  {:>6}  {:>19}  {:>6}  {:>21}  {:>6}",
        "",
        "CPU µs/req adapter / bare",
        "ratio",
        "req/s adapter / bare",
        "ratio",
        "p99 adapter / bare",
        "ratio"
    );
    for row in [&floors.w1, &floors.w2, &floors.w3] {
        let (a, b) = (&row.adapter.median, &row.bare_hyper.median);
        let _ = writeln!(
            out,
            "  {:<4}  {:>27}  {:>6.2}  {:>19}  {:>6.2}  {:>21}  {:>6.2}",
            row.id,
            format!("{:.2} / {:.2}", a.cpu_us_per_request, b.cpu_us_per_request),
            row.ratios.cpu_per_request,
            format!(
                "{} / {}",
                thousands(a.requests_per_sec),
                thousands(b.requests_per_sec)
            ),
            row.ratios.requests_per_sec,
            format!("{} / {}", latency(a.p99_us), latency(b.p99_us)),
            row.ratios.p99,
        );
    }
    let _ = writeln!(
        out,
        "  W1 and W2 with {} connections, W3 with {} (each W3 request is 10 backend calls; bare hyper's fan-out has no timeouts, breaker, metrics or call log)",
        floors.w1.connections, floors.w3.connections
    );
    out
}
