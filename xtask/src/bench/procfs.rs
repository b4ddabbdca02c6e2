//! What `/proc` says about the host process (the CPU time it has used, its resident memory)
//! and about one core (how busy it has been, whoever kept it busy).

use std::{fs, time::Duration};

use anyhow::{Context as _, bail, ensure};

/// User plus system CPU time of process `pid`, all threads: fields 14 and 15 of
/// `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let stat = fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let ticks = parse_cpu_ticks(&stat).with_context(|| format!("cannot parse {path}"))?;
    ticks_to_duration(ticks)
}

/// Resident memory of process `pid` in KiB: `VmRSS` in `/proc/PID/status`.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_rss_kib(&status).with_context(|| format!("cannot parse {path}"))
}

/// Time core `core` has spent busy since boot, for any process, the kernel or the
/// hypervisor (steal): everything in its `/proc/stat` line but idle and iowait.
pub fn core_busy(core: usize) -> anyhow::Result<Duration> {
    let stat = fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
    let ticks = parse_core_busy_ticks(&stat, core).context("cannot parse /proc/stat")?;
    ticks_to_duration(ticks)
}

/// `sysconf(_SC_CLK_TCK)`: the unit of the times in `/proc/PID/stat`.
fn ticks_per_second() -> anyhow::Result<u64> {
    // SAFETY: sysconf takes an integer name and returns an integer; it touches no memory
    // of ours and has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks)
        .ok()
        .filter(|&ticks| ticks > 0)
        .with_context(|| format!("sysconf(_SC_CLK_TCK) returned {ticks}"))
}

fn ticks_to_duration(ticks: u64) -> anyhow::Result<Duration> {
    let per_second = ticks_per_second()?;
    // Exact: whole seconds, then the remaining ticks in nanoseconds.
    Ok(Duration::from_secs(ticks / per_second)
        + Duration::from_nanos((ticks % per_second) * 1_000_000_000 / per_second))
}

/// user + nice + system + irq + softirq + steal of line `cpuN` (guest time is already in user).
fn parse_core_busy_ticks(stat: &str, core: usize) -> anyhow::Result<u64> {
    let name = format!("cpu{core}");
    let line = stat
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name.as_str()))
        .with_context(|| format!("no `{name}` line"))?;
    let fields = line
        .split_whitespace()
        .skip(1)
        .map(|field| {
            field
                .parse::<u64>()
                .with_context(|| format!("`{field}` in the {name} line is not a number"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let &[user, nice, system, _idle, _iowait, irq, softirq, steal, ..] = fields.as_slice() else {
        bail!("the {name} line has {} fields, not 8 or more", fields.len());
    };
    Ok(user + nice + system + irq + softirq + steal)
}

/// utime + stime in clock ticks. The command name (field 2) is in parentheses and may hold
/// spaces and parentheses, so fields are counted from the last `)`: field 3 comes after it.
fn parse_cpu_ticks(stat: &str) -> anyhow::Result<u64> {
    let (_, rest) = stat
        .rsplit_once(')')
        .context("no `)` closing the command name")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field n (1-based) is fields[n - 3].
    let field = |n: usize| -> anyhow::Result<u64> {
        let value = fields
            .get(n - 3)
            .with_context(|| format!("field {n} is missing"))?;
        value
            .parse()
            .with_context(|| format!("field {n} `{value}` is not a number"))
    };
    Ok(field(14)? + field(15)?)
}

fn parse_rss_kib(status: &str) -> anyhow::Result<u64> {
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .context("no VmRSS line")?;
    let mut words = line.split_whitespace();
    let value = words.next().context("VmRSS has no value")?;
    ensure!(
        words.next() == Some("kB"),
        "VmRSS is not in kB: `{}`",
        line.trim()
    );
    value
        .parse()
        .with_context(|| format!("VmRSS `{value}` is not a number"))
}

#[cfg(test)]
mod tests;
