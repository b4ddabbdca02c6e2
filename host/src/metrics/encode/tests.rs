//! What the encoder writes for our families: names with their suffixes, cumulative buckets
//! from per-bucket counts, and label values escaped whatever an author put in them.

use std::time::Duration;

use prometheus_client::{collector::Collector, registry::Registry};

use super::*;
use crate::metrics::histogram::LatencyHistogram;

/// A collector that writes what `write` writes, to encode one family in isolation.
struct One(Box<dyn Fn(&mut DescriptorEncoder) -> fmt::Result + Send + Sync>);

impl fmt::Debug for One {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("One")
    }
}

impl Collector for One {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        (self.0)(&mut encoder)
    }
}

fn render(write: impl Fn(&mut DescriptorEncoder) -> fmt::Result + Send + Sync + 'static) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(One(Box::new(write))));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).expect("encodes");
    text
}

#[test]
fn a_counter_family_gets_its_total_suffix_and_labels() {
    let text = render(|encoder| {
        counters(
            encoder,
            "frontdoor_things",
            "Things.",
            [
                ([("kind", "a")] as Labels<1>, 3),
                ([("kind", "b")] as Labels<1>, 0),
            ],
        )
    });
    assert_eq!(
        text,
        "# HELP frontdoor_things Things.\n\
         # TYPE frontdoor_things counter\n\
         frontdoor_things_total{kind=\"a\"} 3\n\
         frontdoor_things_total{kind=\"b\"} 0\n\
         # EOF\n"
    );
}

#[test]
fn a_histogram_is_written_cumulative_in_seconds() {
    static BOUNDS: [u64; 2] = [1_000_000, 10_000_000];
    let histogram = LatencyHistogram::new(&BOUNDS);
    for millis in [1, 2, 3, 50] {
        histogram.observe(Duration::from_millis(millis));
    }
    let snapshot = histogram.snapshot();
    let text = render(move |encoder| {
        histograms(
            encoder,
            "frontdoor_waits",
            "Waits.",
            [([("route", "GET /x")] as Labels<1>, snapshot.clone())],
        )
    });
    assert_eq!(
        text,
        "# HELP frontdoor_waits_seconds Waits.\n\
         # TYPE frontdoor_waits_seconds histogram\n\
         # UNIT frontdoor_waits_seconds seconds\n\
         frontdoor_waits_seconds_sum{route=\"GET /x\"} 0.056\n\
         frontdoor_waits_seconds_count{route=\"GET /x\"} 4\n\
         frontdoor_waits_seconds_bucket{le=\"0.001\",route=\"GET /x\"} 1\n\
         frontdoor_waits_seconds_bucket{le=\"0.01\",route=\"GET /x\"} 3\n\
         frontdoor_waits_seconds_bucket{le=\"+Inf\",route=\"GET /x\"} 4\n\
         # EOF\n"
    );
}

#[test]
fn label_values_an_author_chose_are_escaped() {
    // A route pattern's literal segments may hold quotes, backslashes and newlines; the
    // adapter and version labels come from a manifest too. None may end the label value
    // or the line early.
    let text = render(|encoder| {
        gauges(
            encoder,
            "frontdoor_odd",
            "Odd labels.",
            Some(&Unit::Bytes),
            [([("route", "GET /say\"hi\"\\\n# EOF")] as Labels<1>, 1)],
        )
    });
    assert!(
        text.contains("frontdoor_odd_bytes{route=\"GET /say\\\"hi\\\"\\\\\\n# EOF\"} 1\n"),
        "{text}"
    );
    // One series line, one EOF: the newline in the value did not start a line of its own.
    assert_eq!(text.lines().filter(|line| *line == "# EOF").count(), 1);
    assert_eq!(text.lines().count(), 5);
}

#[test]
fn gauge_values_saturate_instead_of_wrapping() {
    assert_eq!(gauge_value(u64::MAX), i64::MAX);
    assert_eq!(gauge_value(7usize), 7);
}
