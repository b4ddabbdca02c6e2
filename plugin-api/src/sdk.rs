//! The author-facing SDK: declare a plugin with [`crate::export_adapter!`], write handlers as
//! plain `async fn(Request, Ctx) -> impl IntoResponse`.
//!
//! Everything the macro generates funnels through [`entry`], which is the only place that
//! touches raw ABI types on the plugin side and the place that guarantees no panic escapes.

mod catch_panic;
mod ctx;
pub mod entry;
mod into_response;
mod log_forwarding;
mod macros;
mod request;

pub use ctx::Ctx;
pub use into_response::{IntoResponse, Json};
pub use request::{BadRequest, Request};
