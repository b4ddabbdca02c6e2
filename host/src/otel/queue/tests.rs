//! The queue never blocks: past its capacity spans are dropped and counted.

use super::*;
use crate::otel::span::SpanKind;

fn span(id: u64) -> SpanData {
    SpanData {
        trace_id: 1,
        span_id: id,
        parent_id: None,
        name: "GET /t".into(),
        kind: SpanKind::Server,
        start_unix_nanos: 1,
        end_unix_nanos: 2,
        attributes: Vec::new(),
        error: false,
    }
}

#[test]
fn a_full_queue_drops_and_counts() {
    let (queue, mut receiver) = SpanQueue::new(2);
    queue.push(vec![span(1), span(2)]);
    queue.push(vec![span(3)]);
    // Full: nobody is receiving.
    queue.push(vec![span(4), span(5), span(6)]);
    let view = queue.stats.view();
    assert_eq!(view.queued_spans, 3);
    assert_eq!(view.dropped_spans, 3);

    // Room again once the exporter took one.
    assert_eq!(receiver.try_recv().expect("queued").len(), 2);
    queue.push(vec![span(7)]);
    assert_eq!(queue.stats.view().queued_spans, 4);
}

#[test]
fn a_stopped_exporter_drops_and_counts() {
    let (queue, receiver) = SpanQueue::new(8);
    drop(receiver);
    queue.push(vec![span(1)]);
    assert_eq!(queue.stats.view().dropped_spans, 1);
}
