//! The test kit's own tests, against an adapter declared here. A test binary of its own:
//! the SDK keeps one adapter per process, and the plugin-api's unit tests declare other
//! requirements.

mod adapter;
mod backends;
mod modules;
mod requests;
