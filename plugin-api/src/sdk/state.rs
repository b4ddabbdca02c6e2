//! What an adapter's init hook built, kept for its handlers: one slot per loaded copy.
//!
//! Each loaded version is its own copy of the library with its own statics, so a hot swap
//! never mixes states: the new version's handlers read what the new version's init built,
//! while requests still in flight on the old one keep reading the old one's.

use std::{
    any::{Any, type_name},
    sync::OnceLock,
};

/// The value `init` returned, with its type's name for error messages.
struct Slot {
    value: Box<dyn Any + Send + Sync>,
    type_name: &'static str,
}

static STATE: OnceLock<Slot> = OnceLock::new();

/// Why [`crate::Ctx::state`] has nothing of the type asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateError {
    /// The adapter declares no `init:`, or it has not returned yet (never the case for a
    /// routed request: a version takes traffic only once its init returned `Ok`).
    Uninitialised { asked: &'static str },
    /// Init built another type than the one asked for.
    OtherType {
        asked: &'static str,
        built: &'static str,
    },
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Uninitialised { asked } => write!(
                f,
                "no state of type {asked}: the adapter declares no `init:` or it has not run"
            ),
            Self::OtherType { asked, built } => {
                write!(f, "state asked as {asked}, but init built {built}")
            }
        }
    }
}

impl std::error::Error for StateError {}

/// Keeps what init built; `Err` if this copy already has a state (init ran twice).
pub(crate) fn set<S: Send + Sync + 'static>(value: S) -> Result<(), String> {
    STATE
        .set(Slot {
            value: Box::new(value),
            type_name: type_name::<S>(),
        })
        .map_err(|_| "init ran twice in one loaded copy".to_owned())
}

/// What init built, as `S`.
pub(crate) fn get<S: Send + Sync + 'static>() -> Result<&'static S, StateError> {
    let asked = type_name::<S>();
    let slot = STATE.get().ok_or(StateError::Uninitialised { asked })?;
    slot.value.downcast_ref::<S>().ok_or(StateError::OtherType {
        asked,
        built: slot.type_name,
    })
}
