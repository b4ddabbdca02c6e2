//! Names and port offsets of the services.

use super::*;

#[test]
fn names_round_trip() {
    for service in Service::ALL {
        assert_eq!(service.name().parse::<Service>(), Ok(service));
        assert_eq!(service.to_string(), service.name());
    }
    assert_eq!(
        "billing".parse::<Service>(),
        Err(UnknownService("billing".to_owned()))
    );
}

#[test]
fn offsets_follow_the_order_of_all() {
    for (index, service) in Service::ALL.into_iter().enumerate() {
        assert_eq!(service.index(), index);
        assert_eq!(usize::from(service.port_offset()), index + 1);
    }
}
