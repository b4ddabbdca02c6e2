//! `frontdoor_recycles_total{outcome}`: the recycles this process started, read from the
//! recycler's counters at scrape time. A successor starts from zero: the counts are of
//! the process that answers the scrape.

use std::{
    fmt,
    sync::{Arc, atomic::Ordering},
};

use prometheus_client::{collector::Collector, encoding::DescriptorEncoder};

use super::encode::{Labels, counters};
use crate::recycle::RecycleCounters;

pub struct Recycles {
    pub(super) counters: Arc<RecycleCounters>,
}

impl fmt::Debug for Recycles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Recycles")
    }
}

impl Collector for Recycles {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let succeeded = self.counters.succeeded.load(Ordering::Relaxed);
        let failed = self.counters.failed.load(Ordering::Relaxed);
        let series: [(Labels<'_, 1>, u64); 2] = [
            ([("outcome", "recycled")], succeeded),
            ([("outcome", "failed")], failed),
        ];
        counters(
            &mut encoder,
            "frontdoor_recycles",
            "Recycles this process started: handed over to a successor, or failed (the successor killed, this process serving on).",
            series,
        )
    }
}
