//! Routing at scale, in-process: `cargo bench -p frontdoor --bench routing_scale [-- ADAPTERS]`.
//! Reports nanoseconds per routed request and microseconds per publication; no thresholds.
//!
//! A registry is filled with synthetic adapters (compiled-in handler sets, 20 routes each:
//! literals, parameters, several methods, routed exactly as a loaded cdylib's are, through
//! the same registry, publication and routing table), once with one adapter and once with
//! ADAPTERS (1,000 unless given). Building a thousand real cdylibs would take hours here; a
//! compiled-in version differs from a loaded one only in how its handler is called, which
//! this does not measure.
//!
//! Per request: what the dispatcher does before it calls a handler — the namespace split,
//! the adapter's lookup in the published table, the default version's selection and the
//! route match with its parameters — over first, last, parameterised, 405 and 404 routes,
//! for requests all to one adapter (W1's case) and for requests spread over every adapter
//! (each then mostly out of the CPU's caches), with routes matched by the version's tree
//! and, for comparison, one by one in declaration order (the reference matcher, as the host
//! matched before trees). Per publication: adding the next adapter (the 2nd beside one, the
//! 1,001st beside 1,000, as a deploy publishes once the library is loaded) and publishing
//! again with nothing changed.

use std::{
    hint::black_box,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use frontdoor::{
    containment::ContainmentConfig,
    loader::{ArtifactsConfig, Loader, LoaderConfig},
    registry::{PluginVersion, Registry, RegistryConfig},
    router::RoutingTable,
};
use hyper::Method;

const DEFAULT_ADAPTERS: usize = 1_000;
const MAX_ADAPTERS: usize = 20_000;
/// Routed requests per round, and rounds (the best is reported).
const REQUESTS: usize = 400_000;
const ROUNDS: usize = 5;
/// Publications timed per figure (each adds one more adapter; the median is reported).
const PUBLICATIONS: usize = 41;

/// Twenty routes as an adapter serving a device UI might declare them.
const ROUTES: [(&str, &str); 20] = [
    ("GET", "/hello"),
    ("GET", "/home"),
    ("GET", "/titles/{id}"),
    ("GET", "/titles/{id}/similar"),
    ("GET", "/titles/{id}/episodes/{season}"),
    ("POST", "/titles/{id}/rating"),
    ("GET", "/profiles/{profile}"),
    ("PUT", "/profiles/{profile}"),
    ("GET", "/profiles/{profile}/list"),
    ("DELETE", "/profiles/{profile}/list/{title}"),
    ("GET", "/search"),
    ("GET", "/genres"),
    ("GET", "/genres/{genre}"),
    ("GET", "/rows/{row}/items"),
    ("GET", "/continue-watching"),
    ("POST", "/playback/{title}/start"),
    ("POST", "/playback/{title}/stop"),
    ("GET", "/config"),
    ("GET", "/health"),
    ("GET", "/bookmarks/{title}"),
];

/// Below each adapter's namespace: the first route, the last, two with parameters, one
/// that exists under another method (405) and one that does not exist (404).
const REQUEST_PATHS: [(&str, &str); 6] = [
    ("GET", "/hello"),
    ("GET", "/bookmarks/80000042"),
    ("GET", "/titles/80000001/episodes/3"),
    ("DELETE", "/profiles/7/list/80000003"),
    ("GET", "/playback/80000001/start"),
    ("GET", "/nothing/here"),
];

fn main() -> anyhow::Result<()> {
    let many = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .map(|count| count.parse::<usize>())
        .transpose()?
        .unwrap_or(DEFAULT_ADAPTERS)
        .clamp(2, MAX_ADAPTERS);
    let scratch =
        std::env::temp_dir().join(format!("frontdoor-routing-scale-{}", std::process::id()));

    println!("synthetic adapters of {} routes each", ROUTES.len());
    let mut figures = Vec::new();
    for adapters in [1, many] {
        let (registry, loader) = registry(&scratch.join(adapters.to_string()))?;
        let filled = Instant::now();
        for index in 0..adapters {
            registry.add_builtin(adapter(index));
        }
        let fill = filled.elapsed();
        let table = registry.table();
        // W1's case: every request to one adapter, whatever else is loaded.
        let hot = requests(0..1);
        let hot_tree = best_ns_per_request(&table, Matcher::Tree, &hot);
        let hot_linear = best_ns_per_request(&table, Matcher::Linear, &hot);
        // A fleet's: consecutive requests to different adapters, each mostly out of cache.
        let spread = requests(0..adapters);
        let spread_tree = best_ns_per_request(&table, Matcher::Tree, &spread);
        let spread_linear = best_ns_per_request(&table, Matcher::Linear, &spread);
        let republish = median(
            (0..PUBLICATIONS)
                .map(|_| timed(|| registry.republish()))
                .collect(),
        );
        let add_next = median(
            (adapters..adapters + PUBLICATIONS)
                .map(|index| {
                    let version = adapter(index);
                    timed(|| registry.add_builtin(version))
                })
                .collect(),
        );
        loader.close();
        println!(
            "{adapters} adapter(s) loaded (filled in {:.1} ms):",
            fill.as_secs_f64() * 1e3
        );
        println!(
            "  ns per request, all to one adapter:   {hot_tree:7.1} tree, {hot_linear:7.1} linear"
        );
        println!(
            "  ns per request, spread over all:      {spread_tree:7.1} tree, {spread_linear:7.1} linear"
        );
        println!(
            "  µs to publish adapter no. {:<6}      {:7.1} (median of {PUBLICATIONS}); unchanged: {:.1}",
            adapters + 1,
            micros(add_next),
            micros(republish),
        );
        figures.push((hot_tree, spread_tree, add_next));
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let ((one_hot, one_spread, one_publish), (many_hot, many_spread, many_publish)) =
        (figures[0], figures[1]);
    println!(
        "{many} against 1 (tree): {:.2}x per request to one adapter, {:.2}x spread, \
         {:.1}x the publication time",
        many_hot / one_hot,
        many_spread / one_spread,
        micros(many_publish) / micros(one_publish)
    );
    Ok(())
}

/// A registry as the host builds one, without a probe (nothing is loaded from files here).
fn registry(root: &Path) -> anyhow::Result<(Arc<Registry>, Arc<Loader>)> {
    let loader = Arc::new(Loader::new(LoaderConfig {
        artifacts: ArtifactsConfig {
            probe: false,
            ..ArtifactsConfig::default()
        },
        copies_parent: root.join("copies"),
        state_dir: root.join("state"),
    })?);
    let registry = Arc::new(Registry::new(RegistryConfig {
        loader: loader.clone(),
        retired_limit: 100,
        containment: ContainmentConfig::default(),
        notices: None,
        warmup: None,
    }));
    Ok((registry, loader))
}

fn adapter(index: usize) -> PluginVersion {
    let routes: Vec<(Method, &str)> = ROUTES
        .iter()
        .map(|(method, path)| (method.parse().expect("a known method"), *path))
        .collect();
    PluginVersion::builtin(
        &name(index),
        &semver::Version::new(1, 0, 0),
        &routes,
        answer,
    )
}

fn name(index: usize) -> String {
    format!("synthetic-{index:05}")
}

fn answer(_route: u32, _query: &str) -> (u16, Bytes) {
    (200, Bytes::from_static(b"{\"ok\":true}"))
}

/// Every request path of [`REQUEST_PATHS`] under the namespaces of `adapters`, shuffled so
/// consecutive requests go to different adapters (as a device fleet's do).
fn requests(adapters: std::ops::Range<usize>) -> Vec<(Method, String)> {
    let mut requests = Vec::new();
    for (method, path) in REQUEST_PATHS {
        for index in adapters.clone() {
            requests.push((
                method.parse().expect("a known method"),
                format!("/{}{path}", name(index)),
            ));
        }
    }
    // A fixed shuffle (an LCG), so both tables see requests in a comparable order.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for index in (1..requests.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        requests.swap(index, (state >> 33) as usize % (index + 1));
    }
    requests
}

/// How a route is matched inside the chosen version.
#[derive(Clone, Copy)]
enum Matcher {
    /// The version's route tree, built when it was loaded (what the dispatcher uses).
    Tree,
    /// Every route in declaration order, the path split again for each (the reference,
    /// and what the dispatcher did before the tree).
    Linear,
}

/// What the dispatcher does before it calls a handler, for one request.
fn route(table: &RoutingTable, matcher: Matcher, method: &Method, path: &str) -> u32 {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let (namespace, rest) = match trimmed.find('/') {
        Some(slash) => (&trimmed[..slash], &trimmed[slash..]),
        None => (trimmed, "/"),
    };
    let Some(routed) = table
        .adapter(namespace)
        .and_then(|adapter| adapter.select(None))
    else {
        return u32::MAX;
    };
    let found = match matcher {
        Matcher::Tree => routed.version.route(method, rest),
        Matcher::Linear => frontdoor::router::match_route(&routed.version.routes, method, rest),
    };
    match found {
        frontdoor::router::RouteMatch::Found { route, params } => route + params.len() as u32,
        frontdoor::router::RouteMatch::MethodNotAllowed => u32::MAX - 1,
        frontdoor::router::RouteMatch::NotFound => u32::MAX - 2,
    }
}

fn best_ns_per_request(
    table: &RoutingTable,
    matcher: Matcher,
    requests: &[(Method, String)],
) -> f64 {
    (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            for (method, path) in requests.iter().cycle().take(REQUESTS) {
                black_box(route(table, matcher, black_box(method), black_box(path)));
            }
            started.elapsed().as_nanos() as f64 / REQUESTS as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn timed(work: impl FnOnce()) -> Duration {
    let started = Instant::now();
    work();
    started.elapsed()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}
