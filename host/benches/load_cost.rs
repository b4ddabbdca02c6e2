//! What the load probe costs per load: the same artifact loaded by `load_library` with the
//! probe (a `frontdoor probe-artifact` child process per load) and without, alternately,
//! `cargo bench -p frontdoor --bench load_cost -- ARTIFACT [LOADS]` where ARTIFACT is a
//! release build (`cargo xtask build-plugin plugins/bench --out DIR`). Reports the median
//! and spread of each and the difference of the medians; no thresholds.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use frontdoor::loader::{ArtifactsConfig, Loader, LoaderConfig, load_library};

/// Loads of each kind unless given: every one maps another copy of the library for good.
const DEFAULT_LOADS: usize = 21;
const MAX_LOADS: usize = 101;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os()
        .skip(1)
        .filter(|arg| !arg.to_string_lossy().starts_with('-'));
    let artifact: PathBuf = args
        .next()
        .map(PathBuf::from)
        .context("usage: load_cost ARTIFACT.so [LOADS]")?;
    let loads = match args.next() {
        Some(count) => count
            .to_string_lossy()
            .parse::<usize>()
            .context("LOADS is a number")?,
        None => DEFAULT_LOADS,
    }
    .clamp(1, MAX_LOADS);

    let scratch = std::env::temp_dir().join(format!("frontdoor-load-cost-{}", std::process::id()));
    let probed = loader(&scratch.join("probed"), true)?;
    let direct = loader(&scratch.join("direct"), false)?;
    let (mut with_probe, mut without) = (Vec::new(), Vec::new());
    // Alternate, so drift on a shared machine hits both alike.
    for _ in 0..loads {
        with_probe.push(time_load(&artifact, &probed)?);
        without.push(time_load(&artifact, &direct)?);
    }
    probed.close();
    direct.close();
    let _ = std::fs::remove_dir_all(&scratch);

    let (with_median, without_median) = (median(&with_probe), median(&without));
    println!("artifact: {}", artifact.display());
    println!("loads of each kind: {loads} (alternating)");
    println!("load with the probe:    {}", summary(&with_probe));
    println!("load without the probe: {}", summary(&without));
    println!(
        "probe cost per load (difference of medians): {:.2} ms",
        ms(with_median.saturating_sub(without_median))
    );
    Ok(())
}

fn loader(state_dir: &Path, probe: bool) -> anyhow::Result<Loader> {
    Ok(Loader::new(LoaderConfig {
        artifacts: ArtifactsConfig {
            probe,
            probe_binary: Some(PathBuf::from(env!("CARGO_BIN_EXE_frontdoor"))),
            ..ArtifactsConfig::default()
        },
        copies_parent: std::env::temp_dir(),
        state_dir: state_dir.to_owned(),
    })?)
}

fn time_load(artifact: &Path, loader: &Loader) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let library = load_library(artifact, loader).map_err(|error| anyhow::anyhow!("{error}"))?;
    let elapsed = start.elapsed();
    // Never closed: the library stays mapped, as in the host.
    drop(library);
    Ok(elapsed)
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn summary(samples: &[Duration]) -> String {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let at = |share: f64| sorted[((sorted.len() - 1) as f64 * share).round() as usize];
    format!(
        "median {:.2} ms (min {:.2}, p90 {:.2}, max {:.2})",
        ms(median(samples)),
        ms(at(0.0)),
        ms(at(0.9)),
        ms(at(1.0))
    )
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}
