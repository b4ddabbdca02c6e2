//! The listener families, read at scrape time from each listener's counters
//! (`server/stats.rs`, also behind `/admin/listener`): connections and refusals.

use std::{fmt, sync::Arc};

use prometheus_client::{collector::Collector, encoding::DescriptorEncoder};

use super::encode::{Labels, counters, gauge_value, gauges};
use crate::server::{ListenerView, Listeners};

pub struct ListenerCounters {
    pub(super) listeners: Arc<Listeners>,
}

impl fmt::Debug for ListenerCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ListenerCounters")
    }
}

impl Collector for ListenerCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let views = self.listeners.view();
        let both = [("device", &views.device), ("admin", &views.admin)];
        let each = |value: fn(&ListenerView) -> u64| {
            both.iter().map(move |(name, view)| {
                let labels: Labels<1> = [("listener", name)];
                (labels, value(view))
            })
        };
        let each_gauge = |value: fn(&ListenerView) -> i64| {
            both.iter().map(move |(name, view)| {
                let labels: Labels<1> = [("listener", name)];
                (labels, value(view))
            })
        };
        gauges(
            &mut encoder,
            "frontdoor_listener_open_connections",
            "Connections open now.",
            None,
            each_gauge(|view| gauge_value(view.open_connections)),
        )?;
        gauges(
            &mut encoder,
            "frontdoor_listener_max_connections",
            "The connection cap: past it, connections wait in the kernel's accept queue.",
            None,
            each_gauge(|view| gauge_value(view.max_connections)),
        )?;
        gauges(
            &mut encoder,
            "frontdoor_listener_accept_queue",
            "Connections the kernel completed and the host has not accepted yet.",
            None,
            both.iter().filter_map(|(name, view)| {
                let labels: Labels<1> = [("listener", name)];
                view.waiting_in_accept_queue
                    .map(|waiting| (labels, gauge_value(waiting)))
            }),
        )?;
        counters(
            &mut encoder,
            "frontdoor_listener_accepted_connections",
            "Connections accepted.",
            each(|view| view.accepted),
        )?;
        counters(
            &mut encoder,
            "frontdoor_listener_capacity_waits",
            "Times the accept loop reached the connection cap and waited.",
            each(|view| view.capacity_waits),
        )?;
        counters(
            &mut encoder,
            "frontdoor_listener_closed_connections",
            "Connections the host closed for a limit: a head that came too late, or idleness.",
            both.iter().flat_map(|(name, view)| {
                [
                    ("header_timeout", view.header_timeouts),
                    ("idle", view.idle_closed),
                ]
                .map(|(reason, count)| {
                    let labels: Labels<2> = [("listener", name), ("reason", reason)];
                    (labels, count)
                })
            }),
        )?;
        counters(
            &mut encoder,
            "frontdoor_listener_refusals",
            "Requests the listener refused for a limit, by reason (431, 408, 413).",
            both.iter().flat_map(|(name, view)| {
                [
                    ("head_too_large", view.heads_too_large),
                    ("body_timeout", view.body_timeouts),
                    ("body_too_large", view.bodies_too_large),
                ]
                .map(|(reason, count)| {
                    let labels: Labels<2> = [("listener", name), ("reason", reason)];
                    (labels, count)
                })
            }),
        )?;
        counters(
            &mut encoder,
            "frontdoor_listener_connection_errors",
            "Connections that ended with a protocol or I/O error (malformed requests included).",
            each(|view| view.connection_errors),
        )
    }
}
