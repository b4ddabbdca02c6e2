//! The console's HTML, rendered with maud (every interpolated value is escaped, so names,
//! routes and reasons written by plugin authors stay text): the page shell and one module
//! per page. Each page has a live region that the console's script refreshes in place from
//! the same URL with `x-console-fragment: 1`.

mod adapter;
mod audit;
mod backends;
mod fleet;
mod format;
mod layout;
mod login;
mod overview;

pub use adapter::{AdapterControls, adapter, adapter_live};
pub use audit::audit;
pub use backends::{backends, backends_live};
pub use fleet::{fleet, fleet_live};
pub use layout::{Flash, Shell, message};
pub use login::login;
pub use overview::{overview, overview_live};

#[cfg(test)]
mod tests;
