//! The crowd run: W1 (`/bench/hello`) on a host that holds a thousand more adapters of 20
//! routes each, against W1 on a host holding `bench` alone (both hosts up, runs
//! alternating, same core), and the time from dropping one more adapter into the crowded
//! host's directory until it answers (the 1,001st publication and four more, one by one).
//!
//! The thousand adapters are one release build of `plugins/crowd`, stripped of debug
//! information, written a thousand times with the name in its manifest overwritten by
//! another of the same length (`crowd-aaab`, `crowd-aaac`, ...): distinct adapters to the
//! host, without a thousand builds.

use std::{
    fs,
    path::{Path, PathBuf},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use serde::Serialize;

use super::{
    Plan,
    artifacts::{Artifacts, BENCH_PACKAGE, copy_library, strip_debug},
    procfs,
    server::{Instance, Launcher, Server},
    stats,
    workloads::{self, Contender, Ratios, Side, W1},
    wrk::Wrk,
};
use crate::{
    cargo::{self, Profile},
    http,
    workspace::Workspace,
};

/// The package built and stamped.
const CROWD_PACKAGE: &str = "crowd";
/// The name in the built library's manifest (`plugins/crowd`'s `NAME_STAMP`), overwritten
/// in each copy.
const NAME_STAMP: &[u8] = b"crowd-aaaa";
/// Routes per crowd adapter (`plugins/crowd`).
const ROUTES_PER_ADAPTER: usize = 20;
/// How long the crowded host gets to load everything, and the next adapter to answer.
const LOAD_TIMEOUT: Duration = Duration::from_secs(600);
/// Adapters published one after another onto the crowded host, each timed.
const NEXT_ADAPTERS: usize = 5;

/// What the crowd run needs.
pub struct CrowdConfig<'a> {
    pub launcher: &'a Launcher<'a>,
    pub artifacts: &'a Artifacts,
    pub wrk: &'a Wrk,
    pub plan: &'a Plan,
    pub work_dir: &'a Path,
}

/// The built and stripped crowd library.
pub struct CrowdBuild {
    library: PathBuf,
}

#[derive(Debug, Serialize)]
pub struct Crowd {
    /// Crowd adapters loaded beside `bench` on the crowded host.
    pub adapters: usize,
    pub routes_per_adapter: usize,
    /// From the crowded host's start until every adapter was loaded.
    pub load_secs: f64,
    /// Each median is of this many runs per host.
    pub runs: usize,
    pub run_secs: u64,
    pub order: &'static str,
    pub crowded: Side,
    pub alone: Side,
    /// Crowded over alone, of the medians.
    pub ratios: Ratios,
    /// From the rename of one more adapter into the crowded host's directory until it
    /// answered 200, for each of [`NEXT_ADAPTERS`] published one after another.
    pub next_adapter_ms: Vec<f64>,
    /// Their median.
    pub next_adapter_median_ms: f64,
    /// Each host's CPU while nothing loads it, over one run's length, in percent of a core:
    /// what holding the adapters costs by itself (the deployer's reconcile of the directory
    /// every 2 s, samplers over every version).
    pub idle_cpu_percent: IdleCpu,
}

#[derive(Debug, Serialize)]
pub struct IdleCpu {
    pub crowded: f64,
    pub alone: f64,
}

/// Builds `plugins/crowd` in release and strips its debug information (a thousand copies of
/// line tables would be gigabytes).
pub fn build(workspace: &Workspace, builds_dir: &Path) -> anyhow::Result<CrowdBuild> {
    // `release`, not the shipping `plugin` profile: whole-program optimisation may fold the
    // name stamp's bytes into code (it did: the stamp was no longer in the library), and
    // this stage is about routing among many adapters, not the adapters' own code.
    let artifacts = cargo::build(&workspace.root, &[CROWD_PACKAGE], Profile::Release)?;
    let library = copy_library(&artifacts, CROWD_PACKAGE, builds_dir, "crowd-stamp.so")?;
    strip_debug(&library, &library)?;
    Ok(CrowdBuild { library })
}

/// The name of crowd adapter `index` (0 is the build's own, never written): four letters
/// after `crowd-`, as long as the stamp.
fn crowd_name(index: usize) -> String {
    let mut letters = [b'a'; 4];
    let mut rest = index;
    for letter in letters.iter_mut().rev() {
        *letter = b'a' + (rest % 26) as u8;
        rest /= 26;
    }
    format!("crowd-{}", String::from_utf8_lossy(&letters))
}

/// `library` with its one manifest name replaced by crowd adapter `index`'s.
fn stamped(library: &[u8], index: usize) -> anyhow::Result<(String, Vec<u8>)> {
    let name = crowd_name(index);
    let at = find_once(library, NAME_STAMP)?;
    let mut bytes = library.to_vec();
    bytes[at..at + NAME_STAMP.len()].copy_from_slice(name.as_bytes());
    Ok((name, bytes))
}

/// Where `needle` is in `haystack`, which must hold it exactly once.
fn find_once(haystack: &[u8], needle: &[u8]) -> anyhow::Result<usize> {
    let mut found = haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, window)| *window == needle)
        .map(|(at, _)| at);
    let Some(first) = found.next() else {
        bail!("the crowd library does not hold its name stamp");
    };
    ensure!(
        found.next().is_none(),
        "the crowd library holds its name stamp more than once: stamping would be ambiguous"
    );
    Ok(first)
}

/// Writes `bytes` into `dir` as `file_name` the way `cargo xtask build-plugin` does: under a
/// hidden temporary name, then renamed into place.
fn install(dir: &Path, file_name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let temporary = dir.join(format!(".{file_name}.tmp"));
    fs::write(&temporary, bytes)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    fs::rename(&temporary, dir.join(file_name))
        .with_context(|| format!("cannot install {file_name}"))
}

pub fn run(config: &CrowdConfig<'_>, build: &CrowdBuild) -> anyhow::Result<Crowd> {
    let adapters = config.plan.crowd_adapters;
    let library = fs::read(&build.library)
        .with_context(|| format!("cannot read {}", build.library.display()))?;
    let bench_file = format!("{BENCH_PACKAGE}-{}.so", config.artifacts.base.version);
    let bench_adapter = format!("{BENCH_PACKAGE}@{}", config.artifacts.base.version);

    let alone_dir = config.work_dir.join("crowd-alone-plugins");
    let crowded_dir = config.work_dir.join("crowd-plugins");
    for dir in [&alone_dir, &crowded_dir] {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        fs::copy(&config.artifacts.base.library, dir.join(&bench_file))
            .with_context(|| format!("cannot copy the bench adapter to {}", dir.display()))?;
    }
    for index in 1..=adapters {
        let (name, bytes) = stamped(&library, index)?;
        install(&crowded_dir, &format!("{name}-1.0.0.so"), &bytes)?;
    }
    // Room for every library the crowded host maps (the default cap is 256), and a state
    // directory of its own: the host alone holds the shared one meanwhile.
    let config_file = config.work_dir.join("crowd.toml");
    let state_dir = config.work_dir.join("crowd-state");
    fs::write(
        &config_file,
        format!(
            "state_dir = {:?}\n\n[containment]\nmax_mapped_libraries = {}\n",
            state_dir.display().to_string(),
            (adapters + 16).max(256)
        ),
    )
    .with_context(|| format!("cannot write {}", config_file.display()))?;

    let alone = config.launcher.start(&Instance {
        label: "crowd: bench alone",
        plugins_dir: &alone_dir,
        copies_dir: &config.work_dir.join("crowd-alone-copies"),
        keep_copies: false,
        retired_limit: None,
        backends: &[],
    })?;
    alone.wait_for_adapter(W1.adapter, &bench_adapter)?;
    let started = Instant::now();
    let crowded = config.launcher.start_within(
        &Instance {
            label: "crowd: bench among the crowd",
            plugins_dir: &crowded_dir,
            copies_dir: &config.work_dir.join("crowd-copies"),
            keep_copies: false,
            retired_limit: None,
            backends: &[],
        },
        Some(&config_file),
        LOAD_TIMEOUT,
    )?;
    wait_mapped(&crowded, adapters + 1)?;
    let load_secs = started.elapsed().as_secs_f64();
    crowded.wait_for_adapter(W1.adapter, &bench_adapter)?;
    eprintln!("crowd: {adapters} adapters and bench loaded in {load_secs:.1} s");
    let idle_cpu_percent = idle_cpu(&crowded, &alone, config.plan.run_secs)?;

    let (alone_side, crowded_side) = measure(config, &alone, &crowded)?;
    let mut next_adapter_ms = Vec::new();
    for index in adapters + 1..=adapters + NEXT_ADAPTERS {
        let took = publish_next(&crowded, &crowded_dir, &library, index)?;
        eprintln!("crowd: adapter {index} answered {took:.1} ms after its file appeared");
        next_adapter_ms.push(took);
    }
    let next_adapter_median_ms = stats::median(&next_adapter_ms);
    alone.stop()?;
    crowded.stop()?;
    Ok(Crowd {
        adapters,
        routes_per_adapter: ROUTES_PER_ADAPTER,
        load_secs,
        runs: config.plan.runs,
        run_secs: config.plan.run_secs,
        order: "alternating: crowded, alone, crowded, alone, ...",
        ratios: Ratios::of(&crowded_side.median, &alone_side.median),
        crowded: crowded_side,
        alone: alone_side,
        next_adapter_ms,
        next_adapter_median_ms,
        idle_cpu_percent,
    })
}

/// Both hosts' CPU over the same `secs` without load, in percent of a core.
fn idle_cpu(crowded: &Server, alone: &Server, secs: u64) -> anyhow::Result<IdleCpu> {
    let before = [
        procfs::cpu_time(crowded.pid())?,
        procfs::cpu_time(alone.pid())?,
    ];
    thread::sleep(Duration::from_secs(secs));
    let after = [
        procfs::cpu_time(crowded.pid())?,
        procfs::cpu_time(alone.pid())?,
    ];
    let percent = |index: usize| {
        after[index].saturating_sub(before[index]).as_secs_f64() * 100.0 / secs.max(1) as f64
    };
    Ok(IdleCpu {
        crowded: percent(0),
        alone: percent(1),
    })
}

/// W1 on both hosts: a warm-up of each, then runs alternating between them.
fn measure(
    config: &CrowdConfig<'_>,
    alone: &Server,
    crowded: &Server,
) -> anyhow::Result<(Side, Side)> {
    let plan = config.plan;
    let warm_up = |server: &Server| config.wrk.run(&server.url(W1.adapter), plan.warmup_secs);
    let crowded_warmup = warm_up(crowded)?;
    let alone_warmup = warm_up(alone)?;
    let [crowded_runs, alone_runs] = workloads::alternate(
        config.wrk,
        plan,
        "crowd W1",
        &[
            Contender::on(crowded, W1.adapter, "crowded"),
            Contender::on(alone, W1.adapter, "alone"),
        ],
    )?;
    Ok((
        workloads::side(W1.adapter, alone_warmup, alone_runs),
        workloads::side(W1.adapter, crowded_warmup, crowded_runs),
    ))
}

/// Waits until `server` maps `count` libraries.
fn wait_mapped(server: &Server, count: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + LOAD_TIMEOUT;
    loop {
        let plugins = server.admin_plugins()?;
        let mapped = plugins["mapped"]["count"].as_u64().unwrap_or(0);
        let failed = plugins["failed"].as_array().map_or(0, Vec::len);
        ensure!(
            failed == 0,
            "the crowded host refused {failed} adapters: {}",
            plugins["failed"]
        );
        if mapped >= count as u64 {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "the crowded host mapped {mapped} of {count} libraries in {} s",
            LOAD_TIMEOUT.as_secs()
        );
        thread::sleep(Duration::from_millis(200));
    }
}

/// Drops crowd adapter `index` into `dir` and times until it answers.
fn publish_next(server: &Server, dir: &Path, library: &[u8], index: usize) -> anyhow::Result<f64> {
    let (name, bytes) = stamped(library, index)?;
    let target = format!("/{name}/hello");
    let started = Instant::now();
    install(dir, &format!("{name}-1.0.0.so"), &bytes)?;
    let deadline = started + LOAD_TIMEOUT;
    loop {
        let response = http::get(server.listen, &target, Duration::from_secs(5))?;
        if response.status == 200 {
            return Ok(started.elapsed().as_secs_f64() * 1e3);
        }
        ensure!(
            Instant::now() < deadline,
            "GET {target} still answers {} {} s after its file appeared",
            response.status,
            LOAD_TIMEOUT.as_secs()
        );
        thread::sleep(Duration::from_millis(2));
    }
}

/// The crowd run's lines of the printed report.
pub fn block(crowd: &Crowd) -> String {
    format!(
        "crowd: W1 among {} adapters of {} routes (loaded in {:.1} s) against W1 alone, medians of {} alternating runs: \
         req/s {:.0} vs {:.0} ({:.3}), CPU/request {:.2} vs {:.2} µs ({:.3}), p99 {:.0} vs {:.0} µs; \
         the next {} adapters answered {:.1} ms (median) after their files appeared; \
         without load the crowded host used {:.1} % of a core, the host alone {:.1} %\n",
        crowd.adapters,
        crowd.routes_per_adapter,
        crowd.load_secs,
        crowd.runs,
        crowd.crowded.median.requests_per_sec,
        crowd.alone.median.requests_per_sec,
        crowd.ratios.requests_per_sec,
        crowd.crowded.median.cpu_us_per_request,
        crowd.alone.median.cpu_us_per_request,
        crowd.ratios.cpu_per_request,
        crowd.crowded.median.p99_us,
        crowd.alone.median.p99_us,
        crowd.next_adapter_ms.len(),
        crowd.next_adapter_median_ms,
        crowd.idle_cpu_percent.crowded,
        crowd.idle_cpu_percent.alone,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_the_stamp_s_length_and_differ() {
        assert_eq!(crowd_name(0).as_bytes(), NAME_STAMP);
        assert_eq!(crowd_name(1), "crowd-aaab");
        assert_eq!(crowd_name(26), "crowd-aaba");
        assert_eq!(crowd_name(1001), "crowd-abmn");
        let names: std::collections::HashSet<String> = (1..=1001).map(crowd_name).collect();
        assert_eq!(names.len(), 1001);
        assert!(names.iter().all(|name| name.len() == NAME_STAMP.len()));
    }

    #[test]
    fn stamping_replaces_the_one_stamp_and_refuses_none_or_two() {
        let library = b"head crowd-aaaa tail".to_vec();
        let (name, bytes) = stamped(&library, 2).expect("stamped");
        assert_eq!(name, "crowd-aaac");
        assert_eq!(bytes, b"head crowd-aaac tail");
        assert!(stamped(b"no stamp here", 1).is_err());
        assert!(stamped(b"crowd-aaaa and crowd-aaaa", 1).is_err());
    }
}
