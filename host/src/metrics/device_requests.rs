//! The device request families, read at scrape time from the versions in the current
//! routing table (so a version gone from it is gone from the scrape) and from the host's
//! counters of requests answered before a version was chosen.

use std::{fmt, sync::Arc};

use prometheus_client::{collector::Collector, encoding::DescriptorEncoder};

use super::{
    HostMetrics,
    encode::{Labels, counters, histograms},
    requests::UnroutedReason,
};
use crate::registry::{PluginVersion, Registry};

pub struct DeviceRequests {
    pub(super) registry: Arc<Registry>,
    pub(super) metrics: Arc<HostMetrics>,
}

impl fmt::Debug for DeviceRequests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceRequests")
    }
}

impl Collector for DeviceRequests {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let versions = routed_versions(&self.registry);
        let named: Vec<(&PluginVersion, String)> = versions
            .iter()
            .map(|version| (&**version, version.identity.version.to_string()))
            .collect();

        counters(
            &mut encoder,
            "frontdoor_device_requests",
            "Device requests answered by an adapter version, by route pattern and status class.",
            named.iter().flat_map(|(version, number)| {
                version.series.all().flat_map(move |route| {
                    route.status_counts().map(move |(class, count)| {
                        let labels: Labels<4> = [
                            ("adapter", &version.identity.name),
                            ("version", number),
                            ("route", route.label()),
                            ("status_class", class),
                        ];
                        (labels, count)
                    })
                })
            }),
        )?;
        histograms(
            &mut encoder,
            "frontdoor_device_request_duration",
            "Time from a device request's arrival to its answer, by adapter version and route.",
            named.iter().flat_map(|(version, number)| {
                version
                    .series
                    .all()
                    .filter(|route| !route.latency().is_empty())
                    .map(move |route| {
                        let labels: Labels<3> = [
                            ("adapter", &version.identity.name),
                            ("version", number),
                            ("route", route.label()),
                        ];
                        (labels, route.latency().snapshot())
                    })
            }),
        )?;
        counters(
            &mut encoder,
            "frontdoor_unrouted_requests",
            "Device requests the host answered before choosing a version, by reason.",
            UnroutedReason::ALL.iter().map(|reason| {
                let labels: Labels<1> = [("reason", reason.as_str())];
                (labels, self.metrics.unrouted.get(*reason))
            }),
        )
    }
}

/// Every version the routing table routes to now, by adapter name then version (a stable
/// order for readers of the text).
fn routed_versions(registry: &Registry) -> Vec<Arc<PluginVersion>> {
    let table = registry.table();
    let mut versions: Vec<Arc<PluginVersion>> = table
        .adapters()
        .flat_map(|adapter| adapter.versions.iter().map(|routed| routed.version.clone()))
        .collect();
    versions.sort_by(|a, b| {
        a.identity
            .name
            .cmp(&b.identity.name)
            .then_with(|| a.identity.version.cmp_precedence(&b.identity.version))
    });
    versions
}
