//! The plugin version families, read at scrape time from the registry's admin snapshot
//! (`registry/report.rs`, the same derived states as `/admin/plugins`) and from each
//! version's `VersionHealth`: versions by state, retired and mapped libraries, reload
//! latency, and per version its panics, timeouts, blocked polls, quarantine and heap.

use std::{fmt, sync::Arc};

use prometheus_client::{collector::Collector, encoding::DescriptorEncoder, registry::Unit};

use super::{
    HostMetrics,
    encode::{Labels, counters, gauge_value, gauges, histograms},
};
use crate::{
    containment::HealthView,
    registry::{PluginVersion, Registry, VersionReport, VersionState},
};

pub struct Versions {
    pub(super) registry: Arc<Registry>,
    pub(super) metrics: Arc<HostMetrics>,
}

impl fmt::Debug for Versions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Versions")
    }
}

const STATES: [VersionState; 6] = [
    VersionState::Active,
    VersionState::Standby,
    VersionState::Draining,
    VersionState::Retired,
    VersionState::Failed,
    VersionState::Quarantined,
];

/// One version still in the registry's books as a live version (not draining or retired:
/// their series leave with them), with what the scrape reads of it.
struct Live<'a> {
    version: &'a PluginVersion,
    number: String,
    health: HealthView,
}

impl Live<'_> {
    fn labels(&self) -> Labels<'_, 2> {
        [
            ("plugin", &self.version.identity.name),
            ("version", &self.number),
        ]
    }
}

impl Collector for Versions {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let snapshot = self.registry.snapshot();
        gauges(
            &mut encoder,
            "frontdoor_plugin_versions",
            "Loaded plugin versions by state, as /admin/plugins derives it.",
            None,
            STATES.iter().map(|state| {
                let count = snapshot
                    .versions
                    .iter()
                    .filter(|v| v.state == *state)
                    .count();
                let labels: Labels<1> = [("state", state.as_str())];
                (labels, gauge_value(count))
            }),
        )?;
        let single = |value: i64| std::iter::once(([] as Labels<0>, value));
        gauges(
            &mut encoder,
            "frontdoor_refused_artifacts",
            "Files in the plugins directory that were refused (failed), with a reason in /admin/plugins.",
            None,
            single(gauge_value(snapshot.failures.len())),
        )?;
        gauges(
            &mut encoder,
            "frontdoor_retired_versions",
            "Versions no longer routable whose code stays mapped.",
            None,
            single(gauge_value(snapshot.retired_count)),
        )?;
        gauges(
            &mut encoder,
            "frontdoor_retired",
            "Artifact sizes of the retired versions, roughly their resident cost.",
            Some(&Unit::Bytes),
            single(gauge_value(snapshot.retired_bytes)),
        )?;
        gauges(
            &mut encoder,
            "frontdoor_mapped_libraries",
            "Libraries mapped into the process (never unloaded), refused ones included.",
            None,
            single(gauge_value(snapshot.mapped.count)),
        )?;
        gauges(
            &mut encoder,
            "frontdoor_mapped_libraries_limit",
            "max_mapped_libraries: past it, new loads are refused.",
            None,
            single(gauge_value(snapshot.mapped_limit)),
        )?;
        gauges(
            &mut encoder,
            "frontdoor_mapped",
            "File sizes of the mapped libraries.",
            Some(&Unit::Bytes),
            single(gauge_value(snapshot.mapped.bytes)),
        )?;
        histograms(
            &mut encoder,
            "frontdoor_reload_duration",
            "Time the deployer took to bring one changed file in line: load (or refusal) and publication.",
            std::iter::once(([] as Labels<0>, self.metrics.reloads.snapshot())),
        )?;
        let probes = self.registry.loader().probe_runs();
        let probe_series: [(Labels<'_, 1>, u64); 3] = [
            ([("run", "idle")], probes.idle),
            ([("run", "held_back")], probes.held_back),
            ([("run", "normal")], probes.normal),
        ];
        counters(
            &mut encoder,
            "frontdoor_load_probes",
            "Load probe processes by how they ran: idle (SCHED_IDLE, to the end), held_back (SCHED_IDLE, killed after artifacts.probe_idle_wait_ms without a CPU, then run again as normal), normal (at the loading thread's priority).",
            probe_series,
        )?;
        counters(
            &mut encoder,
            "frontdoor_deployer_restarts",
            "Times the deployer thread panicked and was restarted.",
            std::iter::once(([] as Labels<0>, self.registry.deployer_restarts())),
        )?;
        self.encode_health(&mut encoder, &snapshot.versions)
    }
}

impl Versions {
    /// Per live version: what its `VersionHealth` counts and samples.
    fn encode_health(
        &self,
        encoder: &mut DescriptorEncoder,
        reports: &[VersionReport],
    ) -> fmt::Result {
        let live: Vec<Live<'_>> = reports
            .iter()
            .filter(|report| {
                !matches!(report.state, VersionState::Draining | VersionState::Retired)
            })
            .map(|report| Live {
                version: &report.version,
                number: report.version.identity.version.to_string(),
                health: report.version.health.view(),
            })
            .collect();
        let each = |value: fn(&HealthView) -> u64| {
            live.iter()
                .map(move |entry| (entry.labels(), value(&entry.health)))
        };
        counters(
            encoder,
            "frontdoor_plugin_panics",
            "Panics caught in a version's handlers, destructors or shared-module functions.",
            each(|health| health.panics),
        )?;
        counters(
            encoder,
            "frontdoor_plugin_handler_timeouts",
            "Handlers of a version that outlived their budget (the device got a 504).",
            each(|health| health.timeouts),
        )?;
        counters(
            encoder,
            "frontdoor_plugin_blocked_polls",
            "Polls of a version's code that held a worker thread longer than max_poll.",
            each(|health| health.blocked_polls),
        )?;
        gauges(
            encoder,
            "frontdoor_plugin_quarantined",
            "1 while a version is quarantined (it takes no new requests).",
            None,
            live.iter().map(|entry| {
                (
                    entry.labels(),
                    i64::from(entry.health.quarantine_reason.is_some()),
                )
            }),
        )?;
        gauges(
            encoder,
            "frontdoor_plugin_offloaded",
            "1 once a version blocked a worker: its futures run on the isolation runtime.",
            None,
            live.iter()
                .map(|entry| (entry.labels(), i64::from(entry.health.offloaded))),
        )?;
        let memory: Vec<_> = live
            .iter()
            .filter_map(|entry| entry.version.health.memory_view().map(|m| (entry, m)))
            .collect();
        gauges(
            encoder,
            "frontdoor_plugin_heap",
            "Live heap of a version's loaded copy at the last sample.",
            Some(&Unit::Bytes),
            memory
                .iter()
                .map(|(entry, m)| (entry.labels(), gauge_value(m.live_bytes))),
        )?;
        gauges(
            encoder,
            "frontdoor_plugin_heap_peak",
            "Peak heap of a version's loaded copy at the last sample.",
            Some(&Unit::Bytes),
            memory
                .iter()
                .map(|(entry, m)| (entry.labels(), gauge_value(m.peak_bytes))),
        )?;
        gauges(
            encoder,
            "frontdoor_plugin_heap_limit",
            "memory_limit_bytes of a version: past it the host warns, then quarantines if it grows.",
            Some(&Unit::Bytes),
            memory
                .iter()
                .map(|(entry, m)| (entry.labels(), gauge_value(m.limit_bytes))),
        )?;
        counters(
            encoder,
            "frontdoor_plugin_allocations",
            "Allocations made by a version's loaded copy, at the last sample.",
            memory
                .iter()
                .map(|(entry, m)| (entry.labels(), m.allocations)),
        )
    }
}
