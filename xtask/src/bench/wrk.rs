//! The load generator: wrk's command line, a run bounded in time, and its report parsed.

use std::{
    io::Read as _,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use serde::Serialize;

/// wrk threads: one, as its core is shared with nothing else but xtask.
pub const THREADS: u32 = 1;
/// Open connections, each with one request in flight, unless a workload says otherwise.
pub const CONNECTIONS: u32 = 32;
/// How long past its duration a wrk run may take (its connect and 2 s request timeouts)
/// before it is killed.
const GRACE: Duration = Duration::from_secs(15);
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// How wrk is started: on which core, with how many connections.
#[derive(Debug, Clone, Copy)]
pub struct Wrk {
    core: Option<usize>,
    connections: u32,
}

/// A wrk run in the background; dropping it kills wrk.
#[derive(Debug)]
pub struct Running {
    child: Child,
    command: String,
    deadline: Instant,
}

/// One finished run: its exact command line and what it reported.
#[derive(Debug, Clone, Serialize)]
pub struct Load {
    pub command: String,
    #[serde(flatten)]
    pub stats: Stats,
}

/// What wrk reports about a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Completed requests, whatever their status.
    pub requests: u64,
    pub duration_secs: f64,
    pub requests_per_sec: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    /// Answers with a status outside 200..=399.
    pub non_2xx_3xx: u64,
    pub socket_errors: SocketErrors,
}

/// wrk's `Socket errors:` line; all zero when it prints none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SocketErrors {
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    pub timeout: u64,
}

impl Wrk {
    /// wrk pinned to `core` with taskset, or unpinned, with [`CONNECTIONS`] connections.
    pub fn new(core: Option<usize>) -> Self {
        Self {
            core,
            connections: CONNECTIONS,
        }
    }

    /// The same wrk with `connections` connections.
    pub fn with_connections(self, connections: u32) -> Self {
        Self {
            connections,
            ..self
        }
    }

    pub fn connections(&self) -> u32 {
        self.connections
    }

    /// The command line of a run of `secs` seconds against `url`.
    pub fn command_line(&self, url: &str, secs: u64) -> Vec<String> {
        let mut line = Vec::new();
        if let Some(core) = self.core {
            line.extend(["taskset".to_owned(), "-c".to_owned(), core.to_string()]);
        }
        line.extend([
            "wrk".to_owned(),
            format!("-t{THREADS}"),
            format!("-c{}", self.connections),
            format!("-d{secs}s"),
            "--latency".to_owned(),
            url.to_owned(),
        ]);
        line
    }

    /// Starts a run of `secs` seconds against `url` in the background.
    pub fn spawn(&self, url: &str, secs: u64) -> anyhow::Result<Running> {
        let line = self.command_line(url, secs);
        let command = line.join(" ");
        let (program, args) = line.split_first().context("empty wrk command line")?;
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start `{command}`"))?;
        Ok(Running {
            child,
            command,
            deadline: Instant::now() + Duration::from_secs(secs) + GRACE,
        })
    }

    /// A run of `secs` seconds against `url`, waited for.
    pub fn run(&self, url: &str, secs: u64) -> anyhow::Result<Load> {
        self.spawn(url, secs)?.wait()
    }
}

impl Running {
    /// Waits for wrk to finish (killing it past its deadline) and parses its report.
    pub fn wait(mut self) -> anyhow::Result<Load> {
        let status = loop {
            if let Some(status) = self.child.try_wait().context("cannot check on wrk")? {
                break status;
            }
            if Instant::now() >= self.deadline {
                bail!(
                    "`{}` did not finish within {} s of its duration, so it was killed",
                    self.command,
                    GRACE.as_secs()
                );
            }
            thread::sleep(POLL_INTERVAL);
        };
        // wrk's report is a few hundred bytes: it fits the pipes, read them after the exit.
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let Some(pipe) = self.child.stdout.as_mut() {
            pipe.read_to_string(&mut stdout)
                .context("cannot read wrk's output")?;
        }
        if let Some(pipe) = self.child.stderr.as_mut() {
            pipe.read_to_string(&mut stderr)
                .context("cannot read wrk's errors")?;
        }
        ensure!(
            status.success(),
            "`{}` failed ({status}): {}{}",
            self.command,
            stdout.trim(),
            stderr.trim()
        );
        let stats = parse(&stdout)
            .with_context(|| format!("cannot read the report of `{}`:\n{stdout}", self.command))?;
        Ok(Load {
            command: self.command.clone(),
            stats,
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // Best effort: it may have exited in the meantime.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Stats {
    /// Failed requests: non-2xx/3xx answers plus socket errors of any kind.
    pub fn failures(&self) -> u64 {
        let errors = self.socket_errors;
        self.non_2xx_3xx + errors.connect + errors.read + errors.write + errors.timeout
    }
}

/// Parses the report of `wrk --latency`.
pub fn parse(report: &str) -> anyhow::Result<Stats> {
    let mut stats = Stats::default();
    let (mut requests, mut rps, mut p50, mut p99) = (None, None, None, None);
    let mut in_distribution = false;
    for line in report.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("Requests/sec:") {
            rps = Some(number(value.trim())?);
        } else if let Some((count, rest)) = line.split_once(" requests in ") {
            requests = Some(number(count)?);
            let duration = rest.split(',').next().unwrap_or_default();
            stats.duration_secs = time_us(duration)? / 1e6;
        } else if let Some(errors) = line.strip_prefix("Socket errors:") {
            stats.socket_errors = socket_errors(errors)?;
        } else if let Some(count) = line.strip_prefix("Non-2xx or 3xx responses:") {
            stats.non_2xx_3xx = number(count.trim())?;
        } else if line == "Latency Distribution" {
            in_distribution = true;
        } else if in_distribution {
            match line.split_once('%') {
                Some(("50", value)) => p50 = Some(time_us(value.trim())?),
                Some(("99", value)) => p99 = Some(time_us(value.trim())?),
                Some(_) => {}
                None => in_distribution = false,
            }
        }
    }
    stats.requests = requests.context("no `N requests in` line")?;
    stats.requests_per_sec = rps.context("no `Requests/sec:` line")?;
    stats.p50_us = p50.context("no 50% line in the latency distribution (was --latency given?)")?;
    stats.p99_us = p99.context("no 99% line in the latency distribution (was --latency given?)")?;
    Ok(stats)
}

/// `connect 0, read 12, write 0, timeout 3`.
fn socket_errors(text: &str) -> anyhow::Result<SocketErrors> {
    let mut errors = SocketErrors::default();
    for part in text.split(',') {
        let (kind, count) = part
            .trim()
            .split_once(' ')
            .with_context(|| format!("malformed socket errors `{text}`"))?;
        let count = number(count)?;
        match kind {
            "connect" => errors.connect = count,
            "read" => errors.read = count,
            "write" => errors.write = count,
            "timeout" => errors.timeout = count,
            _ => bail!("unknown socket error kind `{kind}`"),
        }
    }
    Ok(errors)
}

/// A duration as wrk prints it (`812.00us`, `1.25ms`, `5.00s`, `1.50m`, `2.00h`) in µs.
fn time_us(text: &str) -> anyhow::Result<f64> {
    const UNITS: [(&str, f64); 5] = [
        ("us", 1.0),
        ("ms", 1e3),
        ("s", 1e6),
        ("m", 60e6),
        ("h", 3600e6),
    ];
    let (value, scale) = UNITS
        .iter()
        .find_map(|&(unit, scale)| text.strip_suffix(unit).map(|value| (value, scale)))
        .with_context(|| format!("`{text}` is not a duration"))?;
    Ok(number::<f64>(value)? * scale)
}

fn number<T: std::str::FromStr>(text: &str) -> anyhow::Result<T> {
    text.parse()
        .ok()
        .with_context(|| format!("`{text}` is not a number"))
}

#[cfg(test)]
mod tests;
