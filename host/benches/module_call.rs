//! The cost of calling a shared-module function across the ABI, against calling the same
//! code compiled into the caller: `cargo bench -p frontdoor --bench module_call -- ARTIFACT`
//! where ARTIFACT is a release build of the `artwork` 1.1 module (`cargo xtask bench` does
//! this). Reports nanoseconds per call; no thresholds.
//!
//! The module is called the way an adapter calls it: through the typed handle, whose
//! generated wrapper passes the module its bindings and runs the body under
//! `catch_unwind`. The direct call runs the same body under the same guard, in-process.

use std::{
    hint::black_box,
    path::PathBuf,
    time::{Duration, Instant},
};

use abi_stable::{
    StableAbi,
    std_types::{RArc, RResult, RString},
};
use artwork_api::Artwork;
use frontdoor::loader::{ArtifactsConfig, Loader, LoaderConfig, check_interface, load_library};
use frontdoor_plugin_api::{BindingSet, Interface, ModuleCallError, guarded, sdk::modules};

/// The same body as the `artwork` module's `boxart_url`, compiled into this binary.
extern "C" fn local_boxart_url(title_id: u64, width: u32) -> RResult<RString, ModuleCallError> {
    guarded(|| {
        RString::from(format!(
            "https://img.example.test/boxart/w{width}/{title_id}.jpg"
        ))
    })
}

const CALLS: u64 = 2_000_000;
const ROUNDS: usize = 7;

fn main() -> anyhow::Result<()> {
    let artifact: PathBuf = std::env::args_os()
        .skip(1)
        .find(|arg| !arg.to_string_lossy().starts_with('-'))
        .map(PathBuf::from)
        .ok_or_else(|| anyhow::anyhow!("usage: module_call ARTWORK_1_1_ARTIFACT.so"))?;
    let state_dir =
        std::env::temp_dir().join(format!("frontdoor-module-bench-{}", std::process::id()));
    // What is measured is calls, not loading: no probe for the one artifact loaded here.
    let loader = Loader::new(LoaderConfig {
        artifacts: ArtifactsConfig {
            probe: false,
            ..ArtifactsConfig::default()
        },
        copies_parent: std::env::temp_dir(),
        state_dir: state_dir.clone(),
    })?;
    let library = load_library(&artifact, &loader).map_err(|error| anyhow::anyhow!("{error}"))?;
    let export = library
        .export
        .ok_or_else(|| anyhow::anyhow!("{} is not a shared module", artifact.display()))?;
    // The readable verdict first; `checked` repeats the check and makes the handle.
    check_interface(
        <<Artwork as Interface>::Table as StableAbi>::LAYOUT,
        &export,
    )
    .map_err(|verdict| anyhow::anyhow!("incompatible artwork interface: {verdict}"))?;
    // artwork requires nothing: its calls run with no bindings.
    let artwork: Artwork = modules::checked(&export, RArc::new(BindingSet::empty()))
        .map_err(|_| anyhow::anyhow!("incompatible artwork interface"))?;
    // Both sides compute the same thing, or the comparison means nothing.
    let (across, here) = (
        artwork.boxart_url(7, 342)?,
        local_boxart_url(7, 342).into_result()?,
    );
    anyhow::ensure!(across == here, "the module answered {across}, not {here}");

    // Alternate the two in every round, so drift on a shared machine hits both alike.
    let mut module_rounds = Vec::with_capacity(ROUNDS);
    let mut local_rounds = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        module_rounds.push(mean_ns(|i| artwork.boxart_url(i, 342)));
        local_rounds.push(mean_ns(|i| local_boxart_url(i, 342).into_result()));
    }
    let (module, local) = (median(module_rounds), median(local_rounds));

    println!(
        "shared-module call (artwork boxart_url: format! into an RString): {module:.1} ns/call"
    );
    println!(
        "the same body compiled into the caller, direct call:              {local:.1} ns/call"
    );
    println!(
        "ratio module/direct:                                              {:.3}",
        module / local
    );
    println!("({CALLS} calls per round, ABAB, median of {ROUNDS} rounds each)");
    loader.close();
    let _ = std::fs::remove_dir_all(state_dir);
    Ok(())
}

/// The mean time per call over one round of `CALLS` calls.
fn mean_ns(mut call: impl FnMut(u64) -> Result<RString, ModuleCallError>) -> f64 {
    let start = Instant::now();
    for i in 0..CALLS {
        let _ = black_box(call(black_box(i)));
    }
    duration_ns(start.elapsed()) / CALLS as f64
}

fn median(mut rounds: Vec<f64>) -> f64 {
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

fn duration_ns(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e9
}
