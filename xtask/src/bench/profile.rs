//! Where the host spends its time under W1, adapter path against static path: `perf record`
//! with the software clock (no hardware counters needed) while wrk loads one path, then
//! `perf report` as text. A missing or failing perf skips the profile, with the reason.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    thread,
    time::Duration,
};

use anyhow::Context as _;
use serde::Serialize;

use crate::system_tools;

use super::{
    server::Server,
    workloads::W1,
    wrk::{Load, Wrk},
};

/// The outcome of profiling.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Profile {
    Recorded {
        seconds: u64,
        adapter: Box<Recording>,
        #[serde(rename = "static")]
        baseline: Box<Recording>,
    },
    Skipped {
        reason: String,
    },
}

/// One recording and its reports.
#[derive(Debug, Serialize)]
pub struct Recording {
    pub path: &'static str,
    pub data: PathBuf,
    pub perf_record: String,
    /// [`REPORTS`], in order.
    pub reports: Vec<ReportFile>,
    /// The load that ran during the recording.
    pub load: Load,
}

/// One `perf report` written to a file.
#[derive(Debug, Serialize)]
pub struct ReportFile {
    pub kind: &'static str,
    pub file: PathBuf,
    pub command: String,
}

/// The reports written of each recording: kind, file name suffix, options beyond the
/// common ones.
const REPORTS: [(&str, &str, &[&str]); 3] = [
    // Self time per symbol, each with the call chains leading to it.
    ("call-graph", "perf.txt", &["--percent-limit", "1.5"]),
    // The same symbols without call chains, for a quick look.
    (
        "symbols",
        "perf.flat.txt",
        &["--percent-limit", "1.5", "-g", "none"],
    ),
    // Self time per binary (kernel, host, libc, the adapter's library), down to 0.1 %: the
    // adapter's own code is a small share of W1.
    (
        "shared-objects",
        "perf.dso.txt",
        &["--percent-limit", "0.1", "-g", "none", "--sort", "dso"],
    ),
];

/// wrk starts this long before the recording, and ends this long after it.
const MARGIN: Duration = Duration::from_secs(1);

/// Profiles the host under W1 for `secs` seconds per path; files go to `out_dir`.
/// Errors are the load generator's; perf's problems make a `Skipped`.
pub fn record(wrk: &Wrk, server: &Server, out_dir: &Path, secs: u64) -> anyhow::Result<Profile> {
    if system_tools::which("perf").is_none() {
        return Ok(Profile::Skipped {
            reason: "perf is not installed".to_owned(),
        });
    }
    let adapter = match record_one(wrk, server, out_dir, "adapter", W1.adapter, secs)? {
        Ok(recording) => recording,
        Err(reason) => return Ok(Profile::Skipped { reason }),
    };
    let baseline = match record_one(wrk, server, out_dir, "static", W1.baseline, secs)? {
        Ok(recording) => recording,
        Err(reason) => return Ok(Profile::Skipped { reason }),
    };
    Ok(Profile::Recorded {
        seconds: secs,
        adapter: Box::new(adapter),
        baseline: Box::new(baseline),
    })
}

/// A recording of the host while wrk loads `path`; the inner error is why perf failed.
fn record_one(
    wrk: &Wrk,
    server: &Server,
    out_dir: &Path,
    label: &str,
    path: &'static str,
    secs: u64,
) -> anyhow::Result<Result<Recording, String>> {
    let data = out_dir.join(format!("w1-{label}.perf.data"));
    let record_args = [
        "record".to_owned(),
        "-e".to_owned(),
        "cpu-clock".to_owned(),
        "-g".to_owned(),
        "-p".to_owned(),
        server.pid().to_string(),
        "-o".to_owned(),
        data.display().to_string(),
        "--".to_owned(),
        "sleep".to_owned(),
        secs.to_string(),
    ];
    eprintln!("profiling {path} for {secs} s");
    let load = wrk.spawn(&server.url(path), secs + 2 * MARGIN.as_secs())?;
    thread::sleep(MARGIN);
    if let Err(reason) = perf(&record_args) {
        return Ok(Err(reason));
    }
    let load = load.wait()?;
    let mut reports = Vec::new();
    for (kind, suffix, extra) in REPORTS {
        let file = out_dir.join(format!("w1-{label}.{suffix}"));
        match write_report(&data, &file, extra)? {
            Ok(command) => reports.push(ReportFile {
                kind,
                file,
                command,
            }),
            Err(reason) => return Ok(Err(reason)),
        }
    }
    Ok(Ok(Recording {
        path,
        data,
        perf_record: format!("perf {}", record_args.join(" ")),
        reports,
        load,
    }))
}

/// Writes `perf report` of `data` with `extra` options into `file`; returns the command
/// line, or why perf failed.
fn write_report(
    data: &Path,
    file: &Path,
    extra: &[&str],
) -> anyhow::Result<Result<String, String>> {
    let mut args: Vec<String> = [
        "report",
        "--stdio",
        "--no-children",
        "-i",
        &data.display().to_string(),
    ]
    .iter()
    .chain(extra)
    .map(|&arg| arg.to_owned())
    .collect();
    let output = match perf(&args) {
        Ok(output) => output,
        Err(reason) => return Ok(Err(reason)),
    };
    fs::write(file, &output.stdout).with_context(|| format!("cannot write {}", file.display()))?;
    args.push(format!("> {}", file.display()));
    Ok(Ok(format!("perf {}", args.join(" "))))
}

/// Runs perf; the error is a one-line reason.
fn perf(args: &[String]) -> Result<Output, String> {
    let subcommand = args.first().map_or("", String::as_str);
    let output = Command::new("perf")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run perf {subcommand}: {error}"))?;
    if output.status.success() {
        return Ok(output);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().rev().find(|line| !line.trim().is_empty());
    Err(format!(
        "perf {subcommand} failed ({}): {}",
        output.status,
        last.unwrap_or("no message")
    ))
}
