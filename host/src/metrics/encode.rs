//! Writing one metric family through prometheus-client's encoder: the descriptor once, then
//! a series per label set. The crate writes names, types, units and escapes label values;
//! the collectors only hand it numbers they read at scrape time.

use std::fmt;

use prometheus_client::{
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _, NoLabelSet},
    metrics::{MetricType, counter::ConstCounter, gauge::ConstGauge},
    registry::Unit,
};

use super::histogram::HistogramSnapshot;

/// A label set as the collectors build it: `[("adapter", "tv"), ("version", "1.0.0")]`.
pub type Labels<'a, const N: usize> = [(&'a str, &'a str); N];

/// A counter family (`name` without `_total`: the encoder appends it).
pub fn counters<S: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (S, u64)>,
) -> fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in series {
        ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

/// A gauge family, in `unit` when it has one (appended to the name).
pub fn gauges<S: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    series: impl IntoIterator<Item = (S, i64)>,
) -> fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, unit, MetricType::Gauge)?;
    for (labels, value) in series {
        ConstGauge::new(value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

/// A histogram family in seconds (`_seconds` is appended to the name).
pub fn histograms<S: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (S, HistogramSnapshot)>,
) -> fmt::Result {
    let mut family =
        encoder.encode_descriptor(name, help, Some(&Unit::Seconds), MetricType::Histogram)?;
    for (labels, histogram) in series {
        family
            .encode_family(&labels)?
            .encode_histogram::<NoLabelSet>(
                histogram.sum_seconds,
                histogram.count,
                &histogram.buckets,
                None,
            )?;
    }
    Ok(())
}

/// A gauge's value from a count or size (saturating: the encoder's gauges are signed).
pub fn gauge_value(value: impl TryInto<i64>) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
