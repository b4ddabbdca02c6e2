//! The SDK gates each backend call: when one of several joined calls answers, the others,
//! which did not wake, are not polled across the ABI.

use std::{
    future::Future,
    pin::pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RArc, ROption, RResult, RSlice, RStr, Tuple2},
};
use async_ffi::{FfiFuture, FutureExt as _};

use super::*;
use crate::{BoundModule, HostRequest, LogLevel};

/// One call as the host side sees it: its polls counted, answered when the test says.
#[derive(Default)]
struct HostCall {
    polls: AtomicUsize,
    answered: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl HostCall {
    fn answer(&self) {
        self.answered.store(true, Ordering::SeqCst);
        if let Some(waker) = self.waker.lock().expect("waker lock").take() {
            waker.wake();
        }
    }
}

/// A host with backends `a` and `b`, each answering one call when told.
struct Host {
    calls: [Arc<HostCall>; 2],
}

impl HostRequest for Host {
    fn method(&self) -> RStr<'_> {
        "GET".into()
    }

    fn path(&self) -> RStr<'_> {
        "/".into()
    }

    fn query(&self) -> RStr<'_> {
        "".into()
    }

    fn param(&self, _name: RStr<'_>) -> ROption<RStr<'_>> {
        ROption::RNone
    }

    fn header(&self, _name: RStr<'_>) -> ROption<RStr<'_>> {
        ROption::RNone
    }

    fn header_count(&self) -> usize {
        0
    }

    fn header_at(&self, _index: usize) -> ROption<Tuple2<RStr<'_>, RStr<'_>>> {
        ROption::RNone
    }

    fn body(&self) -> RSlice<'_, u8> {
        RSlice::from_slice(&[])
    }

    fn request_id(&self) -> u64 {
        1
    }

    fn log(&self, _level: LogLevel, _message: RStr<'_>) {}

    fn module(&self, _index: u32) -> ROption<&BoundModule> {
        ROption::RNone
    }

    fn backend(
        &self,
        request: BackendRequest,
    ) -> FfiFuture<RResult<BackendResponse, BackendError>> {
        let call = self.calls[usize::from(request.backend.as_str() == "b")].clone();
        std::future::poll_fn(move |cx| {
            call.polls.fetch_add(1, Ordering::SeqCst);
            if call.answered.load(Ordering::SeqCst) {
                return Poll::Ready(RResult::ROk(BackendResponse::new(
                    200,
                    Vec::new(),
                    Vec::new(),
                )));
            }
            *call.waker.lock().expect("waker lock") = Some(cx.waker().clone());
            Poll::Pending
        })
        .into_ffi()
    }

    fn deadline_remaining_ms(&self) -> u64 {
        u64::MAX
    }
}

/// The handler's task: counts its wake-ups.
#[derive(Default)]
struct Task(AtomicUsize);

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn polls(calls: &[Arc<HostCall>; 2]) -> [usize; 2] {
    calls
        .each_ref()
        .map(|call| call.polls.load(Ordering::SeqCst))
}

#[test]
fn a_joined_call_that_did_not_wake_is_not_polled_when_another_answers() {
    let calls: [Arc<HostCall>; 2] = Default::default();
    let host = HostRequestObj::from_ptr(
        RArc::new(Host {
            calls: calls.clone(),
        }),
        TD_Opaque,
    );
    let (a, b) = (Backend::new(&host, "a"), Backend::new(&host, "b"));
    let mut both = pin!(futures_util::future::join(a.get("/"), b.get("/")));
    let task = Arc::new(Task::default());
    let waker = Waker::from(task.clone());
    let mut cx = Context::from_waker(&waker);

    assert!(both.as_mut().poll(&mut cx).is_pending());
    assert_eq!(polls(&calls), [1, 1], "each call is polled once to start");

    calls[0].answer();
    assert_eq!(task.0.load(Ordering::SeqCst), 1, "the answer woke the task");
    assert!(both.as_mut().poll(&mut cx).is_pending());
    assert_eq!(
        polls(&calls),
        [2, 1],
        "b did not wake, so it was not polled across the ABI"
    );

    calls[1].answer();
    let Poll::Ready((first, second)) = both.as_mut().poll(&mut cx) else {
        panic!("both calls answered");
    };
    assert!(first.is_ok() && second.is_ok());
    assert_eq!(polls(&calls), [2, 2]);
}
