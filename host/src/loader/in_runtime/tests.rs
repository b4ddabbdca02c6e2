//! A poll enters the runtime unless it runs on a marked thread of that same runtime; either
//! way the future finds its runtime current.

use std::sync::mpsc;

use super::*;

/// The id of the runtime current while a future is polled through `InRuntime`.
fn runtime_seen_by(runtime: Handle) -> impl Future<Output = Id> {
    InRuntime::new(runtime, async { Handle::current().id() })
}

#[test]
fn an_unmarked_thread_enters_the_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let handle = runtime.handle().clone();
    let expected = handle.id();
    // A plain thread with no runtime, as a plugin's own thread is.
    let seen = std::thread::spawn(move || {
        assert!(!on_thread_of(expected));
        futures_util::FutureExt::now_or_never(runtime_seen_by(handle))
    })
    .join()
    .expect("thread");
    assert_eq!(seen, Some(expected));
}

#[test]
fn a_marked_thread_of_the_same_runtime_goes_in_directly_and_of_another_enters() {
    let serving = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .on_thread_start(mark_runtime_thread)
        .build()
        .expect("serving runtime");
    let other = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("other runtime");
    let (serving_id, other_handle) = (serving.handle().id(), other.handle().clone());
    let other_id = other_handle.id();
    let (sent, received) = mpsc::channel();
    serving.spawn(async move {
        let own = on_thread_of(serving_id);
        let foreign = on_thread_of(other_id);
        // Polled here through the other runtime's handle: it must be entered.
        let seen = runtime_seen_by(other_handle).await;
        sent.send((own, foreign, seen)).expect("send");
    });
    let (own, foreign, seen) = received.recv().expect("the task ran");
    assert!(own, "a marked thread of the serving runtime needs no entry");
    assert!(
        !foreign,
        "another runtime's future still enters its runtime"
    );
    assert_eq!(seen, other_id);
}
