//! The interface of the `artwork` shared module, major version 1: how device adapters turn
//! a title id into image URLs.
//!
//! It is an abi_stable prefix type, so a minor version may append functions: 1.0 had
//! `boxart_url`, 1.1 appended `hero_url`. A consumer compiled against 1.1 can only be bound
//! to a module that has `hero_url` (the host's layout check refuses a 1.0 module for it); a
//! consumer compiled against 1.0 works with either.
//!
//! Functions return `RResult<_, ModuleCallError>`: implementations wrap their bodies in
//! `frontdoor_plugin_api::guarded`, so a panic in the module becomes an error value for the
//! caller instead of aborting the process.

use abi_stable::{
    StableAbi,
    std_types::{RResult, RString},
};
use frontdoor_plugin_api::ModuleCallError;

/// Artwork URL rules, v1 as of 1.1.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = ArtworkRef)))]
#[sabi(missing_field(panic))]
pub struct Artwork {
    /// Box art of `title_id`, `width` pixels wide (since 1.0).
    #[sabi(last_prefix_field)]
    pub boxart_url: extern "C" fn(title_id: u64, width: u32) -> RResult<RString, ModuleCallError>,
    /// The wide hero image of `title_id` for 10-foot home pages (since 1.1).
    pub hero_url: extern "C" fn(title_id: u64) -> RResult<RString, ModuleCallError>,
}

/// The interface exactly as released in 1.0.0, kept so that 1.0 artifacts (and consumers
/// that pinned 1.0) can still be built from this repository and their compatibility tested.
/// Never change it.
pub mod release_1_0 {
    use abi_stable::{
        StableAbi,
        std_types::{RResult, RString},
    };
    use frontdoor_plugin_api::ModuleCallError;

    /// Artwork URL rules, v1 as of 1.0.
    #[repr(C)]
    #[derive(StableAbi)]
    #[sabi(kind(Prefix(prefix_ref = ArtworkRef)))]
    #[sabi(missing_field(panic))]
    pub struct Artwork {
        /// Box art of `title_id`, `width` pixels wide.
        #[sabi(last_prefix_field)]
        pub boxart_url:
            extern "C" fn(title_id: u64, width: u32) -> RResult<RString, ModuleCallError>,
    }
}
