//! The five sample services by name, and where each sits relative to the base port.

use std::{fmt, str::FromStr};

/// One of the sample backend services. Each runs its own HTTP/1.1 server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Catalog,
    Profiles,
    Recommendations,
    Bookmarks,
    Playback,
}

/// A service name that none of [`Service::ALL`] answers to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown service {0:?}")]
pub struct UnknownService(pub String);

impl Service {
    /// Every service, in port order (`base_port + 1` to `base_port + 5`).
    pub const ALL: [Service; 5] = [
        Service::Catalog,
        Service::Profiles,
        Service::Recommendations,
        Service::Bookmarks,
        Service::Playback,
    ];

    /// The lowercase name used in URLs, logs and the control API.
    pub fn name(self) -> &'static str {
        match self {
            Service::Catalog => "catalog",
            Service::Profiles => "profiles",
            Service::Recommendations => "recommendations",
            Service::Bookmarks => "bookmarks",
            Service::Playback => "playback",
        }
    }

    /// The port relative to the base port; the control server owns offset 0.
    pub fn port_offset(self) -> u16 {
        match self {
            Service::Catalog => 1,
            Service::Profiles => 2,
            Service::Recommendations => 3,
            Service::Bookmarks => 4,
            Service::Playback => 5,
        }
    }

    /// The position in [`Service::ALL`].
    pub(crate) fn index(self) -> usize {
        usize::from(self.port_offset() - 1)
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Service {
    type Err = UnknownService;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Service::ALL
            .into_iter()
            .find(|service| service.name() == name)
            .ok_or_else(|| UnknownService(name.to_owned()))
    }
}

#[cfg(test)]
mod tests;
