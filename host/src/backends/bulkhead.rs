//! The bulkhead: a backend gets at most `max_concurrent` calls in flight; the next one is
//! rejected at once instead of queueing, so a slow backend cannot soak up every request.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct Bulkhead {
    slots: Arc<Semaphore>,
    limit: usize,
}

/// The bulkhead is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected;

impl Bulkhead {
    pub fn new(limit: usize) -> Self {
        let limit = limit.max(1);
        Self {
            slots: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// A slot for one call, held until the permit drops.
    pub fn try_enter(&self) -> Result<OwnedSemaphorePermit, Rejected> {
        self.slots.clone().try_acquire_owned().map_err(|_| Rejected)
    }

    pub fn in_use(&self) -> usize {
        self.limit - self.slots.available_permits()
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_beyond_the_limit_and_frees_on_drop() {
        let bulkhead = Bulkhead::new(2);
        let first = bulkhead.try_enter().expect("slot 1");
        let _second = bulkhead.try_enter().expect("slot 2");
        assert_eq!(bulkhead.try_enter().err(), Some(Rejected));
        assert_eq!(bulkhead.in_use(), 2);
        drop(first);
        assert!(bulkhead.try_enter().is_ok());
    }
}
