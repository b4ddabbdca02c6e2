//! The block of W2 under traffic plans: the three ratios side by side, then what the canary
//! and the shadow did, so a reader sees at once that each plan really routed requests.

use std::fmt::Write as _;

use super::thousands;
use crate::bench::traffic::Traffic;

pub fn block(traffic: &Traffic) -> String {
    let checks = &traffic.checks;
    let (canary, shadow) = (&checks.canary, &checks.shadow.counts);
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "W2 under traffic plans, adapter / static of the medians (plain W2 from the W1/W2 host):"
    );
    let _ = writeln!(
        out,
        "  {:<10}  {:>10}  {:>9}  {:>13}",
        "workload", "req/s", "p99", "CPU/request"
    );
    for row in &traffic.ratios {
        let _ = writeln!(
            out,
            "  {:<10}  {:>10.2}  {:>9.2}  {:>13.2}",
            row.workload, row.requests_per_sec, row.p99, row.cpu_per_request
        );
    }
    let _ = writeln!(
        out,
        "  on {}; default {}, other {}",
        checks.instance, checks.default_version, checks.other_version
    );
    let _ = writeln!(
        out,
        "  canary {}: split {}\n    since the plan started: baseline {} requests, canary {} ({}); phase {}, weight {}, {} verdict(s)",
        canary.posted,
        canary.split,
        thousands(canary.baseline_requests as f64),
        thousands(canary.canary_requests as f64),
        canary
            .canary_share
            .map_or("no requests".to_owned(), |share| format!(
                "{:.1} % canary",
                share * 100.0
            )),
        canary.phase,
        canary.weight,
        canary.verdicts
    );
    let _ = writeln!(
        out,
        "  shadow {}: chosen {}, compared {}, matched {}, mismatched {}, skipped (slots busy) {}, timed out {}",
        checks.shadow.posted,
        thousands(shadow.chosen as f64),
        thousands(shadow.compared as f64),
        thousands(shadow.matched as f64),
        shadow.mismatched,
        thousands(shadow.skipped_busy as f64),
        shadow.timed_out
    );
    out
}
