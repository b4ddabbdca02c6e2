//! The part of xtask that other code may call: signing artifacts for fleet mode, so tests
//! elsewhere in the workspace sign fixtures exactly as `cargo xtask sign` does.

pub mod signing;
