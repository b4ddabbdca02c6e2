//! What `/proc` says about the host process (the CPU time it has used, by its threads and
//! its children too, its resident memory) and about one core (how busy it has been, whoever
//! kept it busy).

use std::{collections::BTreeMap, fs, time::Duration};

use anyhow::{Context as _, bail, ensure};

/// User plus system CPU time of process `pid`, all threads: fields 14 and 15 of
/// `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let stat = fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let ticks = parse_cpu_ticks(&stat).with_context(|| format!("cannot parse {path}"))?;
    ticks_to_duration(ticks)
}

/// Where process `pid`'s CPU time went at one instant: its live threads summed by name,
/// what its exited threads used, and its waited-for children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuByThread {
    /// Live threads' user + system time, summed per thread name (`comm`, which Linux cuts
    /// to 15 bytes: `frontdoor-deployer` reads `frontdoor-deplo`).
    pub threads: BTreeMap<String, Duration>,
    /// The process's total less its live threads': threads that have exited (init hooks).
    pub exited_threads: Duration,
    /// `cutime + cstime`: children it has waited for (the load probes).
    pub children: Duration,
}

/// Reads [`CpuByThread`] for `pid`. A thread that ends while its siblings are read is
/// counted with the exited ones.
pub fn cpu_by_thread(pid: u32) -> anyhow::Result<CpuByThread> {
    let path = format!("/proc/{pid}/stat");
    let stat = fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let process = parse_stat(&stat).with_context(|| format!("cannot parse {path}"))?;
    let tasks = format!("/proc/{pid}/task");
    let mut threads = BTreeMap::<String, u64>::new();
    let mut live = 0;
    for entry in fs::read_dir(&tasks).with_context(|| format!("cannot list {tasks}"))? {
        let entry = entry.with_context(|| format!("cannot list {tasks}"))?;
        // Gone since the listing: its time is in the process's total, counted as exited.
        let Ok(text) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let thread = parse_stat(&text)
            .with_context(|| format!("cannot parse {}/stat", entry.path().display()))?;
        live += thread.cpu_ticks;
        *threads.entry(thread.name).or_default() += thread.cpu_ticks;
    }
    Ok(CpuByThread {
        threads: threads
            .into_iter()
            .map(|(name, ticks)| Ok((name, ticks_to_duration(ticks)?)))
            .collect::<anyhow::Result<_>>()?,
        exited_threads: ticks_to_duration(process.cpu_ticks.saturating_sub(live))?,
        children: ticks_to_duration(process.children_ticks)?,
    })
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

/// utime + stime in clock ticks.
fn parse_cpu_ticks(stat: &str) -> anyhow::Result<u64> {
    Ok(parse_stat(stat)?.cpu_ticks)
}

/// What the bench reads of a `/proc/PID/stat` or `/proc/PID/task/TID/stat` line.
#[derive(Debug, PartialEq, Eq)]
struct Stat {
    /// Field 2 without its parentheses.
    name: String,
    /// utime + stime (fields 14 and 15), in clock ticks.
    cpu_ticks: u64,
    /// cutime + cstime (fields 16 and 17), in clock ticks.
    children_ticks: u64,
}

/// The command name (field 2) is in parentheses and may hold spaces and parentheses, so
/// fields are counted from the last `)`: field 3 comes after it.
fn parse_stat(stat: &str) -> anyhow::Result<Stat> {
    let (head, rest) = stat
        .rsplit_once(')')
        .context("no `)` closing the command name")?;
    let (_, name) = head
        .split_once('(')
        .context("no `(` opening the command name")?;
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
    Ok(Stat {
        name: name.to_owned(),
        cpu_ticks: field(14)? + field(15)?,
        children_ticks: field(16)? + field(17)?,
    })
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
