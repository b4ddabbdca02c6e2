//! Injected faults: what they are, and how one request lives through them.

use std::{
    net::SocketAddr,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use serde::{Deserialize, Serialize};

use crate::{
    service::Service,
    shutdown::{Stop, Stopped},
};

/// The faults a service injects, switchable at run time. The default injects none.
///
/// In JSON a missing field means "off": `{"latency_ms": 50}` only adds latency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added before answering each request.
    pub latency_ms: u64,
    /// The share of requests answered with a 500, from 0 to 1, spread evenly (see [`Faults::fails`]).
    pub error_rate: f64,
    /// Read requests but never answer them; they are held until the client leaves or shutdown.
    pub hang: bool,
    /// Close the listening socket, so new connections are refused; open ones are closed
    /// once their current request is answered.
    pub refuse: bool,
}

/// Faults that cannot be applied.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum InvalidFaults {
    #[error("error_rate must be a number from 0 to 1, got {0}")]
    ErrorRate(f64),
}

/// Why faults were not (fully) applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultsError {
    #[error(transparent)]
    Invalid(#[from] InvalidFaults),
    /// The faults are set, but the listener did not close or reopen in time (typically
    /// because another socket took the port meanwhile); reopening keeps being retried.
    #[error("{service} did not {} its listener on {addr} in time", if *refuse { "close" } else { "reopen" })]
    Listener {
        service: Service,
        addr: SocketAddr,
        refuse: bool,
    },
}

impl Faults {
    /// Checks what JSON alone cannot: the error rate is a fraction.
    pub fn validate(&self) -> Result<(), InvalidFaults> {
        if (0.0..=1.0).contains(&self.error_rate) {
            Ok(())
        } else {
            Err(InvalidFaults::ErrorRate(self.error_rate))
        }
    }

    /// Whether request `n` (0-based, counted since the faults were set) fails.
    ///
    /// It fails iff `floor((n+1)*rate) > floor(n*rate)`: deterministic and evenly spread,
    /// so 0.5 fails every second request, 0.25 every fourth and 1.0 all of them.
    pub fn fails(&self, n: u64) -> bool {
        // Exact for any n a test or a demo reaches (below 2^53).
        let n = n as f64;
        ((n + 1.0) * self.error_rate).floor() > (n * self.error_rate).floor()
    }
}

/// What a request that lived through the faults gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The service answers normally.
    Answer,
    /// The injected error rate picked this request: answer 500.
    Fail,
}

/// A service's current faults and the sequence number of its next request.
#[derive(Debug, Default)]
pub(crate) struct Switch {
    armed: Mutex<Armed>,
}

/// The faults one request was given when it arrived.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Plan {
    pub(crate) faults: Faults,
    pub(crate) n: u64,
}

impl Switch {
    pub(crate) fn faults(&self) -> Faults {
        self.lock().faults
    }

    /// Replaces the faults and restarts the request count the error rate works on.
    pub(crate) fn set(&self, faults: Faults) {
        *self.lock() = Armed { faults, next: 0 };
    }

    /// Snapshots the faults for an arriving request and gives it the next sequence number.
    pub(crate) fn plan(&self) -> Plan {
        let mut armed = self.lock();
        let n = armed.next;
        armed.next += 1;
        Plan {
            faults: armed.faults,
            n,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Armed> {
        // Nothing panics while the lock is held; a poisoned value is still consistent.
        self.armed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Plan {
    /// Hangs or waits out the latency, then says how to answer. `Err` when the server
    /// stops first: the caller drops the connection without answering.
    pub(crate) async fn run(self, stop: &mut Stop) -> Result<Verdict, Stopped> {
        let delay = async {
            if self.faults.hang {
                std::future::pending::<()>().await;
            }
            if self.faults.latency_ms > 0 {
                precise_sleep(Duration::from_millis(self.faults.latency_ms)).await;
            }
        };
        tokio::select! {
            () = delay => {}
            () = stop.wait() => return Err(Stopped),
        }
        Ok(if self.faults.fails(self.n) {
            Verdict::Fail
        } else {
            Verdict::Answer
        })
    }
}

/// Sleeps `latency` to within a fraction of a millisecond. tokio's timer has a 1 ms
/// granularity and rounds up, which turned a 5 ms latency into 6-7 ms and hid the host's
/// own cost in the fan-out benchmark. The bulk is a tokio sleep; the last stretch a thread
/// sleep on the blocking pool (precise in real time); a paused test clock is then moved to
/// the deadline.
async fn precise_sleep(latency: Duration) {
    const COARSE_MARGIN: Duration = Duration::from_millis(2);
    let deadline = tokio::time::Instant::now() + latency;
    let real_deadline = std::time::Instant::now() + latency;
    if latency > COARSE_MARGIN {
        tokio::time::sleep_until(deadline - COARSE_MARGIN).await;
    }
    let remaining = real_deadline.saturating_duration_since(std::time::Instant::now());
    if !remaining.is_zero() {
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(remaining)).await;
    }
    // Real time is past the deadline now; a paused test clock is not, so move it there.
    // (A timer for a deadline just past would still wait for tokio's next 1 ms tick.)
    if tokio::time::Instant::now() < deadline {
        tokio::time::sleep_until(deadline).await;
    }
}

#[derive(Debug, Default)]
struct Armed {
    faults: Faults,
    next: u64,
}

#[cfg(test)]
mod tests;
