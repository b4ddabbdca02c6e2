//! The interface of the `artwork` shared module, major version 1: how device adapters turn
//! a title id into image URLs.
//!
//! 1.0 had `boxart_url`; 1.1 appended `hero_url`. A consumer compiled against 1.1 is bound
//! only to a module that has `hero_url` (the host's layout check refuses a 1.0 module for
//! it); a consumer compiled against 1.0 works with either.
//!
//! Consumers declare it with `requires: { Artwork }` (module `artwork`, `^1.1`: both read
//! from the declaration below) and call it through the [`Artwork`] handle
//! (`ctx.module::<Artwork>()?`);
//! implementations implement [`ArtworkModule`] with plain Rust functions and export it
//! with `frontdoor_plugin_api::export_shared_module!`. A panic in an implementation becomes
//! an error value for the caller: the generated wrappers catch it.

use frontdoor_plugin_api::abi_stable::std_types::RString;

frontdoor_plugin_api::module_interface! {
    /// The `artwork` module bound for a request: artwork URL rules, v1 as of 1.1.
    pub struct Artwork;
    /// What an `artwork` 1.x module implements.
    pub trait ArtworkModule;
    module "artwork";

    since "1.0" {
        /// Box art of `title_id`, `width` pixels wide.
        fn boxart_url(title_id: u64, width: u32) -> RString;
    }
    since "1.1" {
        /// The wide hero image of `title_id` for 10-foot home pages.
        fn hero_url(title_id: u64) -> RString;
    }
}

/// The interface exactly as released in 1.0.0, kept so that 1.0 artifacts (and consumers
/// that pinned 1.0) can still be built from this repository and their compatibility tested.
/// Never change it.
pub mod release_1_0 {
    use frontdoor_plugin_api::abi_stable::std_types::RString;

    frontdoor_plugin_api::module_interface! {
        /// The `artwork` module bound for a request: artwork URL rules, v1 as of 1.0.
        pub struct Artwork;
        /// What an `artwork` 1.0 module implements.
        pub trait ArtworkModule;
        module "artwork";

        since "1.0" {
            /// Box art of `title_id`, `width` pixels wide.
            fn boxart_url(title_id: u64, width: u32) -> RString;
        }
    }
}
