//! The author-facing SDK: declare a plugin with [`crate::export_adapter!`] or
//! [`crate::export_shared_module!`], write handlers as plain
//! `async fn(Request, Ctx) -> impl IntoResponse`.
//!
//! Everything the macro generates funnels through [`entry`], which is the only place that
//! touches raw ABI types on the plugin side and the place that guarantees no panic escapes.

mod backend;
mod catch_panic;
pub mod compile_checks;
pub mod counting_alloc;
mod ctx;
pub mod definition;
pub mod entry;
pub mod init;
pub mod interface;
mod into_response;
mod log_forwarding;
mod macros;
pub mod modules;
mod request;
mod state;
pub(crate) mod stats;
pub mod warmup;

pub use backend::Backend;
pub use ctx::Ctx;
pub use init::{ConfigError, InitCtx};
pub use interface::{Declares, Interface, NoModules};
pub use into_response::{IntoResponse, Json};
pub use modules::{ModuleError, dependency, guarded, required_by_interface, required_module};
pub use request::{BadRequest, Request};
pub use state::StateError;
pub use warmup::WarmupCtx;
