//! The report as text: a table of the workloads, the traffic-plan block (`traffic.rs`), the
//! shared-module call block, the R1 block and where the files are.

mod floors;
mod traffic;

use std::fmt::Write as _;

use super::{Entry, Report};
use crate::{
    bench::{
        fanout::FanOut, module_call::ModuleCall, profile::Profile, recycle::Recycle, reload::Reload,
    },
    build_plugin::relative_to_cwd,
};

/// Prints the report to stdout.
pub fn print(report: &Report) {
    print!("{}", render(report));
}

fn render(report: &Report) -> String {
    let plan = &report.plan;
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "\nFrontdoor benchmarks ({}): medians of {} run(s) of {} s per path, adapter and static alternating, after a {} s warm-up of each",
        plan.mode, plan.runs, plan.run_secs, plan.warmup_secs
    );
    let _ = writeln!(
        out,
        "load: {} ({}); {} core(s): {}\n",
        report.load_generator.command,
        report.load_generator.version,
        report.machine.cores,
        report.machine.description
    );
    out.push_str(&workload_table(report));
    out.push_str(&noise_line(report));
    out.push('\n');
    out.push_str(&traffic::block(&report.traffic));
    out.push('\n');
    out.push_str(&floors::block(&report.floors));
    out.push('\n');
    out.push_str(&crate::bench::instructions::block(&report.instructions));
    out.push('\n');
    out.push_str(&module_call_block(&report.module_call));
    out.push('\n');
    out.push_str(&profile_lines(&report.profile));
    out.push('\n');
    out.push_str(&reload_block(&report.reload));
    out.push('\n');
    out.push_str(&reload_block(&report.reload_idle));
    out.push('\n');
    out.push_str(&crate::bench::chaos::block(&report.chaos));
    out.push('\n');
    out.push_str(&crate::bench::crowd::block(&report.crowd));
    out.push('\n');
    out.push_str(&recycle_block(&report.recycle));
    out
}

fn workload_table(report: &Report) -> String {
    let header = [
        "workload",
        "adapter rps",
        "static rps",
        "ratio",
        "p50 adapter / static",
        "p99 adapter / static",
        "CPU µs/req adapter / static",
        "ratio",
    ]
    .map(str::to_owned);
    let mut rows = vec![header];
    let mut notes = Vec::new();
    for entry in &report.workloads {
        match entry {
            Entry::Measured(measured) => {
                let (a, s) = (measured.adapter.median, measured.baseline.median);
                rows.push([
                    format!("{} {}", measured.id, measured.name),
                    thousands(a.requests_per_sec),
                    thousands(s.requests_per_sec),
                    format!("{:.2}", measured.ratios.requests_per_sec),
                    format!("{} / {}", latency(a.p50_us), latency(s.p50_us)),
                    format!("{} / {}", latency(a.p99_us), latency(s.p99_us)),
                    format!("{:.2} / {:.2}", a.cpu_us_per_request, s.cpu_us_per_request),
                    format!("{:.2}", measured.ratios.cpu_per_request),
                ]);
            }
            Entry::FanOut(fanout) => {
                let (a, s) = (fanout.adapter.median, fanout.baseline.median);
                rows.push([
                    format!("{} {}", fanout.id, fanout.name),
                    thousands(a.requests_per_sec),
                    thousands(s.requests_per_sec),
                    format!("{:.2}", fanout.static_ratios.requests_per_sec),
                    format!("{} / {}", latency(a.p50_us), latency(s.p50_us)),
                    format!("{} / {}", latency(a.p99_us), latency(s.p99_us)),
                    format!("{:.2} / {:.2}", a.cpu_us_per_request, s.cpu_us_per_request),
                    format!("{:.2}", fanout.static_ratios.cpu_per_request),
                ]);
                notes.push(fanout_note(fanout));
            }
        }
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(column, (cell, &width))| match column {
                0 => format!("{cell:<width$}"),
                _ => format!("{cell:>width$}"),
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    for line in notes {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// What W3's row is compared with, and how it was loaded.
fn fanout_note(fanout: &FanOut) -> String {
    let backend = &fanout.backend;
    let alone = &fanout.backend_alone;
    let command = fanout
        .adapter
        .runs
        .first()
        .map_or("", |run| run.load.command.as_str());
    let calls = &fanout.backend_calls;
    format!(
        "{} {}: static is the same ten calls compiled into the host ({}); the ideal is one backend round trip of {} ms ({} parallel calls to backend `{}` = {} at {}, each answered after {} ms; sequential would be {}): p50 / ideal {:.2}, p99 / ideal {:.2}\n  \
         backend alone ({}, one run): p50 {}, p99 {}\n  \
         load: {command} ({} connections, so the backend is not saturated); CPU is the host's only, backend calls included{}; {} backend calls, {} failed",
        fanout.id,
        fanout.name,
        crate::bench::fanout::STATIC_PATH,
        backend.latency_ms,
        fanout.calls_per_request,
        backend.backend,
        backend.service,
        backend.url,
        backend.latency_ms,
        latency(fanout.sequential_us),
        fanout.ratios.p50_over_ideal,
        fanout.ratios.p99_over_ideal,
        alone.command,
        latency(alone.stats.p50_us),
        latency(alone.stats.p99_us),
        fanout.connections,
        backend
            .core
            .map(|core| format!(", the sample backends run on core {core}"))
            .unwrap_or_default(),
        thousands(calls.calls as f64),
        calls.failed,
    )
}

/// How much of the host's core other work took during the measured runs: the figures are
/// only as good as this is small.
fn noise_line(report: &Report) -> String {
    let worst = report
        .workloads
        .iter()
        .flat_map(Entry::sides)
        .flat_map(|(_, side)| &side.runs)
        .filter_map(|run| run.other_busy_share())
        .max_by(f64::total_cmp);
    match (worst, report.machine.host_core) {
        (Some(share), Some(core)) => format!(
            "other work kept core {core} busy for at most {:.1} % of a measured run\n",
            share * 100.0
        ),
        _ => String::new(),
    }
}

fn profile_lines(profile: &Profile) -> String {
    match profile {
        Profile::Recorded {
            seconds,
            adapter,
            baseline,
        } => {
            let mut out = format!("profile of W1 ({seconds} s each, perf cpu-clock):\n");
            for recording in [adapter, baseline] {
                let files: Vec<String> = recording
                    .reports
                    .iter()
                    .map(|report| relative_to_cwd(&report.file).display().to_string())
                    .collect();
                let _ = writeln!(out, "  {}: {}", recording.path, files.join(", "));
            }
            out
        }
        Profile::Skipped { reason } => format!("profile skipped: {reason}\n"),
    }
}

fn module_call_block(module_call: &ModuleCall) -> String {
    match module_call {
        ModuleCall::Measured(measured) => {
            let mut out = format!("shared-module call: {}\n", measured.command);
            for line in &measured.output {
                let _ = writeln!(out, "  {line}");
            }
            out
        }
        ModuleCall::Skipped { reason } => format!("shared-module call skipped: {reason}\n"),
    }
}

fn reload_block(reload: &Reload) -> String {
    let (steady, swaps) = (&reload.steady.stats, &reload.during_swaps.stats);
    let failed = &reload.failed;
    let latency_ms = &reload.reload_latency_ms;
    let rss = &reload.rss_kib;
    let [first, second] = &reload.versions;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "R1 reload under load, deployer {}: W2 {} for {} s steady, then {} s with {} swaps ({second} and {first} in turn; last at {:.1} s)",
        reload.deployer,
        reload.path,
        reload.phase_secs,
        reload.phase_secs,
        reload.swaps,
        reload.last_swap_at_secs
    );
    let _ = writeln!(out, "  on {}", reload.instance);
    let lines = [
        (
            "failed or non-200 during swaps",
            format!(
                "{} (wrk non-2xx/3xx {}, socket errors {}; poller non-200 {})",
                failed.total,
                failed.wrk_non_2xx_3xx,
                failed.wrk_socket_errors,
                failed.poller_non_200
            ),
        ),
        (
            "requests/s",
            format!(
                "steady {}, during swaps {}: ratio {:.2}",
                thousands(steady.requests_per_sec),
                thousands(swaps.requests_per_sec),
                reload.ratios.requests_per_sec
            ),
        ),
        (
            "p99",
            format!(
                "steady {}, during swaps {}: ratio {:.2}",
                latency(steady.p99_us),
                latency(swaps.p99_us),
                reload.ratios.p99
            ),
        ),
        (
            "reload latency",
            format!(
                "median {:.2} ms, p99 {:.2} ms, max {:.2} ms (over {} swaps)",
                latency_ms.median,
                latency_ms.p99,
                latency_ms.max,
                latency_ms.samples.len()
            ),
        ),
        (
            "RSS",
            format!(
                "{} KiB before the first swap, {} KiB after the last: {:+.1} KiB per retired version",
                thousands(rss.before_first_swap as f64),
                thousands(rss.after_last_swap as f64),
                rss.growth_per_retired_version
            ),
        ),
        (
            "retired (/admin/plugins)",
            format!(
                "{} versions, {:.1} MB of artifacts",
                reload.retired.count,
                reload.retired.bytes as f64 / 1e6
            ),
        ),
        (
            "load probes (/metrics)",
            format!(
                "{} idle to the end, {} held back past the bound and run again, {} at the deployer's priority (start-up included)",
                reload.probes.idle, reload.probes.held_back, reload.probes.normal
            ),
        ),
    ];
    let width = lines.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, value) in lines {
        let _ = writeln!(out, "  {name:<width$}  {value}");
    }
    let cpu = &reload.cpu;
    let _ = writeln!(
        out,
        "  the host's CPU, steady run / run with swaps (ms), and what a swap adds (ms per swap):"
    );
    let width = cpu
        .groups
        .iter()
        .map(|group| group.what.len())
        .max()
        .unwrap_or(0);
    for group in &cpu.groups {
        let _ = writeln!(
            out,
            "    {:<width$}  {:>8.1} / {:>8.1}   {:+.2}",
            group.what, group.steady_ms, group.swaps_ms, group.extra_per_swap_ms
        );
    }
    let [steady_us, swaps_us] = cpu.serving_us_per_request;
    let _ = writeln!(
        out,
        "    serving threads per request answered: {steady_us:.2} µs steady, {swaps_us:.2} µs during swaps ({:.2}x)",
        swaps_us / steady_us
    );
    out
}

fn recycle_block(recycle: &Recycle) -> String {
    let stats = &recycle.during_recycles.stats;
    let failed = &recycle.failed;
    let rss = &recycle.rss_kib;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Recycle under load: W2 {} for {} s with {} recycles (after {} swaps)",
        recycle.path, recycle.phase_secs, recycle.recycles, recycle.swaps
    );
    let _ = writeln!(out, "  on {}", recycle.instance);
    let lines = [
        (
            "failed during recycles",
            format!(
                "{} (wrk non-2xx/3xx {}, socket errors {}; recycles failed {})",
                failed.total,
                failed.wrk_non_2xx_3xx,
                failed.wrk_socket_errors,
                failed.recycles_failed
            ),
        ),
        (
            "requests/s",
            format!(
                "{} during recycles, p99 {}",
                thousands(stats.requests_per_sec),
                latency(stats.p99_us)
            ),
        ),
        (
            "recycle (POST to accepting)",
            format!(
                "median {:.1} ms, max {:.1} ms",
                recycle.recycle_ms.median, recycle.recycle_ms.max
            ),
        ),
        (
            "RSS",
            format!(
                "fresh {} KiB, after {} swaps {} KiB, after a recycle {} KiB ({:.2}x fresh)",
                thousands(rss.fresh as f64),
                recycle.swaps,
                thousands(rss.after_swaps as f64),
                thousands(rss.after_recycle as f64),
                rss.after_recycle_over_fresh
            ),
        ),
        (
            "retired (/admin/plugins)",
            format!(
                "{} after the swaps, {} after the recycles",
                recycle.retired_after_swaps.count, recycle.retired_after_recycles.count
            ),
        ),
    ];
    let width = lines.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, value) in lines {
        let _ = writeln!(out, "  {name:<width$}  {value}");
    }
    out
}

/// `118,234`: rounded, with thousands separators.
fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return "-".to_owned();
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if value < -0.5 {
        out.insert(0, '-');
    }
    out
}

/// A latency in µs as `245 µs`, `1.23 ms` or `1.50 s`.
fn latency(us: f64) -> String {
    match us {
        us if !us.is_finite() => "-".to_owned(),
        us if us < 1e3 => format!("{us:.0} µs"),
        us if us < 1e6 => format!("{:.2} ms", us / 1e3),
        us => format!("{:.2} s", us / 1e6),
    }
}

#[cfg(test)]
mod tests;
