//! `contained`: a host service that panics gives the plugin its fallback, made only then;
//! and the request's id as a plugin reads it among the headers.

use std::{
    cell::Cell,
    sync::{Arc, OnceLock},
};

use abi_stable::std_types::{RArc, RStr, Tuple2};
use bytes::Bytes;
use frontdoor_plugin_api::{BindingSet, HostRequest as _};
use hyper::{HeaderMap, Method, Uri, header::HeaderValue};

use super::{DeviceRequest, PluginIdentity, contained};
use crate::{
    backends::Backends,
    requests::{CallOrigin, RequestId},
};

#[test]
fn a_service_that_panics_answers_its_fallback() {
    let answer = contained("test", || 7, || -> u32 { panic!("a host bug") });
    assert_eq!(answer, 7);
}

#[test]
fn the_fallback_is_made_only_when_the_service_panicked() {
    let made = Cell::new(0);
    let fallback = || {
        made.set(made.get() + 1);
        0
    };
    assert_eq!(contained("test", fallback, || 1), 1);
    assert_eq!(made.get(), 0, "a service that answered made no fallback");
    assert_eq!(
        contained("test", fallback, || -> u32 { panic!("a host bug") }),
        0
    );
    assert_eq!(made.get(), 1);
}

/// A device request with `headers`, whose id's header is virtual or not.
fn device_request(
    headers: &[(&'static str, &'static str)],
    id_header_virtual: bool,
) -> DeviceRequest {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(*name, HeaderValue::from_static(value));
    }
    let origin = CallOrigin::new(
        RequestId::parse(b"generated-id").expect("valid"),
        tokio::time::Instant::now(),
        None,
    );
    DeviceRequest {
        method: Method::GET,
        uri: Uri::from_static("/echo/items"),
        path_offset: 5,
        headers: map,
        params: crate::router::Params::default(),
        body: Bytes::new(),
        request_id: 1,
        origin,
        identity: Arc::new(PluginIdentity::new("echo", &semver::Version::new(1, 0, 0))),
        modules: RArc::new(BindingSet::empty()),
        backends: Arc::new(Backends::new(Vec::new()).expect("no backends")),
        deadline: tokio::time::Instant::now(),
        scope: OnceLock::new(),
        shadow: false,
        id_header_virtual,
    }
}

fn all_headers(request: &DeviceRequest) -> Vec<(String, String)> {
    (0..request.header_count())
        .map(|index| {
            let Tuple2(name, value) = request.header_at(index).into_option().expect("in range");
            (name.to_string(), value.to_string())
        })
        .collect()
}

#[test]
fn a_generated_id_reads_as_the_last_header_though_it_was_never_added() {
    let request = device_request(&[("x-test", "a"), ("x-test", "b")], true);
    assert_eq!(request.headers.len(), 2, "nothing was inserted");
    for name in ["x-request-id", "X-Request-ID"] {
        assert_eq!(
            request
                .header(RStr::from(name))
                .into_option()
                .map(|value| value.as_str()),
            Some("generated-id"),
            "{name}"
        );
    }
    assert_eq!(
        all_headers(&request),
        [
            ("x-test".to_owned(), "a".to_owned()),
            ("x-test".to_owned(), "b".to_owned()),
            ("x-request-id".to_owned(), "generated-id".to_owned()),
        ]
    );
    assert_eq!(request.header_at(3).into_option().map(|_| ()), None);
    assert_eq!(
        request
            .header(RStr::from("x-test"))
            .into_option()
            .map(|value| value.as_str()),
        Some("a")
    );
}

#[test]
fn an_id_in_the_headers_is_read_from_them_once() {
    // The device's own id: in the map, not repeated.
    let request = device_request(&[("x-request-id", "device-id")], false);
    assert_eq!(
        request
            .header(RStr::from("x-request-id"))
            .into_option()
            .map(|value| value.as_str()),
        Some("device-id")
    );
    assert_eq!(
        all_headers(&request),
        [("x-request-id".to_owned(), "device-id".to_owned())]
    );
    // A warm-up's request: no headers, no id header.
    let warm_up = device_request(&[], false);
    assert_eq!(warm_up.header_count(), 0);
    assert_eq!(
        warm_up
            .header(RStr::from("x-request-id"))
            .into_option()
            .map(|_| ()),
        None
    );
}
